import { afterAll, describe, it, expect } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseFlatConfig } from '../../../controller/config/flat-reader.js';
import { loadHostConfig } from '../../../controller/config/load.js';

const readHostConfig = (path: string) => loadHostConfig(path, { cheap: true });
import { cleanupTmp, tmpDir } from '../../helpers/tmp.js';

afterAll(cleanupTmp);

describe('fast host config reader', () => {
  it('reads flat key: value files, quotes, comments and booleans', () => {
    expect(parseFlatConfig('# c\nremote: git@github.com/x.git  # where\nhost: "web1"\nstateDir: \'/var/lib/f\'\nrequireSignedCommits: false\n')).toEqual({
      remote: 'git@github.com/x.git', host: 'web1', stateDir: '/var/lib/f', requireSignedCommits: false,
    });
  });

  it.each([
    'remote: [a, b]\n',
    'remote: {a: 1}\n',
    'remote: |\n  x\n',
    'remote: x\nremote: y\n',
    'host: 123\n',
    'host: yes\n',
    '  remote: x\n',
    'remote: &a x\n',
    'remote: "a\\"b"\n',
  ])('leaves %j to the full parser', (text) => {
    expect(parseFlatConfig(text)).toBeNull();
  });

  it.each([
    'remote: https://git.example/ledger.git\nbranch: main\nhost: web1\nstateDir: state\ninterval: 30s\n',
    'remote: /srv/ledger.git\n',
    'remote: git@git.example:ops/ledger.git\nhost: "mail-2.example"\nstateDir: /var/lib/f2g\nmetricsFile: /var/lib/node_exporter/f2g.prom\n',
    'remote: /srv/l.git\nsigningKey: /etc/fail2git/key\nrequireSignedCommits: true\nallowedSigners: /etc/fail2git/allowed\n',
    'remote: /srv/l.git\nbranch:\ninterval: 1h30m\n',
  ])('agrees with the full loader on %j', async (text) => {
    const dir = tmpDir('f2g-cfg');
    const path = join(dir, 'config.yaml');
    writeFileSync(path, text);
    expect(await readHostConfig(path)).toEqual(await loadHostConfig(path));
  });

  it.each([
    ['remote: /srv/l.git\ninterval: soon\n', /interval/],
    ['remote: /srv/l.git\nhost: "a b"\n', /host/],
    ['remote: /srv/l.git\nbogus: 1\n', /unknown setting "bogus"/],
    ['remote: /srv/l.git\nrequireSignedCommits: true\n', /allowedSigners/],
  ])('leaves invalid settings to the full loader, which explains them (%j)', async (text, why) => {
    const dir = tmpDir('f2g-cfg');
    const path = join(dir, 'config.yaml');
    writeFileSync(path, text);
    const fast = await readHostConfig(path).catch((e: unknown) => e as Error);
    const full = await loadHostConfig(path).catch((e: unknown) => e as Error);
    expect(fast).toBeInstanceOf(Error);
    expect((fast as Error).message).toBe((full as Error).message);
    expect((fast as Error).message).toMatch(why);
  });

  it('falls back to the full loader for anything it does not read', async () => {
    const dir = tmpDir('f2g-cfg');
    const path = join(dir, 'config.yaml');
    writeFileSync(path, 'remote: >-\n  /srv/ledger.git\nhost: web1\n');
    expect((await readHostConfig(path)).remote).toBe('/srv/ledger.git');
  });

  it('a missing or broken config is one clear line', async () => {
    const dir = tmpDir('f2g-cfg');
    await expect(readHostConfig(join(dir, 'nope.yaml'))).rejects.toThrow(/cannot read host config/);
    writeFileSync(join(dir, 'bad.yaml'), 'host: web1\n');
    await expect(readHostConfig(join(dir, 'bad.yaml'))).rejects.toThrow(/"remote" is required/);
  });
});
