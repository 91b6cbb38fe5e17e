import { describe, it, expect, afterAll } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadHostConfig } from '../../../controller/config/load.js';
import { validateHostConfig } from '../../../controller/config/validate.js';
import { defaultMetricsFile, NODE_EXPORTER_TEXTFILE_DIR } from '../../../controller/config/host-config.js';
import { tmpDir, cleanupTmp } from '../../helpers/tmp.js';

afterAll(() => cleanupTmp());

describe('host config (schemas/config.schema.json)', () => {
  it('fills defaults; a key without a value takes its default', () => {
    const cfg = validateHostConfig({ remote: '/srv/ledger.git', host: 'web1', branch: null, stateDir: '/var/lib/f2g' }, '/etc/fail2git/config.yaml');
    expect(cfg).toEqual({
      remote: '/srv/ledger.git', branch: 'main', host: 'web1', stateDir: '/var/lib/f2g', requireSignedCommits: false, publishStatus: true,
      interval: '30s', metricsFile: '/var/lib/f2g/fail2git.prom', path: '/etc/fail2git/config.yaml',
    });
  });

  const bad: [string, unknown, RegExp][] = [
    ['missing remote', { host: 'a' }, /^c\.yaml: "remote" is required$/],
    ['unknown setting', { remote: 'x', remtoe: 'y' }, /^c\.yaml: unknown setting "remtoe" \(known: remote, branch,/],
    ['empty string', { remote: '' }, /"remote" must be a non-empty string/],
    ['number for a string', { remote: 'x', branch: 5 }, /"branch" must be a non-empty string/],
    ['not a boolean', { remote: 'x', requireSignedCommits: 'yes' }, /"requireSignedCommits" must be true or false/],
    ['host with a space', { remote: 'x', host: 'web 1' }, /"host" must be a plain host name, got "web 1"/],
    ['bad interval', { remote: 'x', interval: 'often' }, /"interval" must be a duration like 30s or 5m, got "often"/],
    ['signed commits without signers', { remote: 'x', requireSignedCommits: true }, /needs "allowedSigners: PATH"/],
    ['not a mapping', ['remote'], /must be a mapping of settings/],
  ];
  for (const [name, raw, message] of bad) {
    it(`refuses: ${name}`, () => {
      expect(() => validateHostConfig(raw, 'c.yaml')).toThrow(message);
      try {
        validateHostConfig(raw, 'c.yaml');
      } catch (e) {
        expect((e as { code: string }).code).toBe('E_CONFIG_INVALID');
      }
    });
  }

  it('loadHostConfig: YAML errors carry file:line:col', async () => {
    const dir = tmpDir('cfg');
    writeFileSync(join(dir, 'config.yaml'), 'remote: /srv/l.git\nhost: [web1\n');
    await expect(loadHostConfig(join(dir, 'config.yaml'))).rejects.toThrow(new RegExp(`^${dir}/config.yaml:\\d+:\\d+: `));
    await expect(loadHostConfig(join(dir, 'missing.yaml'))).rejects.toMatchObject({ code: 'E_CONFIG_MISSING' });
  });
});

describe('stateDir must be a directory on a real filesystem', () => {
  const write = (stateDir: string) => {
    const path = join(tmpDir('f2g-sd'), 'config.yaml');
    writeFileSync(path, `remote: /srv/ledger.git\nhost: web1\nstateDir: ${stateDir}\n`);
    return path;
  };

  it.each([
    ['/proc/fail2git', /stateDir \/proc\/fail2git is under \/proc, a kernel pseudo-filesystem/],
    ['/proc/self/fail2git', /is under \/proc/],
    ['/sys/fs/fail2git', /is under \/sys/],
  ])('%s fails at once with one line, both readers', async (dir, why) => {
    const path = write(dir);
    for (const cheap of [true, false]) {
      const err = await loadHostConfig(path, { cheap }).then(() => null, (e: unknown) => e as Error & { code: string });
      expect(err?.code).toBe('E_CONFIG_STATEDIR');
      expect(err?.message).toMatch(why);
      expect(err?.message).not.toMatch(/\n/);
    }
  });

  it('a file, or a path through a file, is not a directory', async () => {
    const dir = tmpDir('f2g-sdf');
    const file = join(dir, 'state');
    writeFileSync(file, 'x');
    await expect(loadHostConfig(write(file), { cheap: true })).rejects.toThrow(`stateDir ${file} is not a directory`);
    await expect(loadHostConfig(write(join(file, 'sub')))).rejects.toThrow(`stateDir ${join(file, 'sub')}: ${file} is not a directory`);
  });

  it('so must the metrics file\'s directory and every writablePaths entry', async () => {
    const dir = tmpDir('f2g-sdw');
    const path = join(dir, 'config.yaml');
    writeFileSync(path, `remote: /srv/ledger.git\nhost: web1\nstateDir: ${join(dir, 'state')}\nmetricsFile: /proc/f2g/fail2git.prom\n`);
    await expect(loadHostConfig(path, { cheap: true })).rejects.toThrow(/metricsFile: \/proc\/f2g is under \/proc, a kernel pseudo-filesystem/);
    writeFileSync(path, `remote: /srv/ledger.git\nhost: web1\nstateDir: ${join(dir, 'state')}\nwritablePaths:\n  file: [/sys/f2g/list.txt]\n`);
    await expect(loadHostConfig(path)).rejects.toThrow(/writablePaths\.file: \/sys\/f2g is under \/sys/);
  });

  it('a directory that does not exist yet under a real one is fine', async () => {
    const dir = join(tmpDir('f2g-sdok'), 'a', 'b');
    expect((await loadHostConfig(write(dir), { cheap: true })).stateDir).toBe(dir);
  });
});

describe('defaultMetricsFile', () => {
  const seen = (dirs: string[]) => (p: string) => dirs.includes(p);

  it('is node_exporter\'s textfile directory on a host with the default state dir and Debian\'s node_exporter', () => {
    expect(defaultMetricsFile({ stateDir: '/var/lib/fail2git' }, seen([NODE_EXPORTER_TEXTFILE_DIR]))).toBe('/var/lib/prometheus/node-exporter/fail2git.prom');
  });

  it('stays beside the state without node_exporter, or with a state dir of its own', () => {
    expect(defaultMetricsFile({ stateDir: '/var/lib/fail2git' }, seen([]))).toBe('/var/lib/fail2git/fail2git.prom');
    expect(defaultMetricsFile({ stateDir: '/srv/f2g' }, seen([NODE_EXPORTER_TEXTFILE_DIR]))).toBe('/srv/f2g/fail2git.prom');
  });
});
