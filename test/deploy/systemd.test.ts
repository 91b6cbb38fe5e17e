/**
 * The shipped systemd units (deploy/systemd/), scored and checked by systemd's own tools:
 * `systemd-analyze security --offline` must rate every service ≤ 4.0, `systemd-analyze verify`
 * must accept every unit, each names its documentation, and timers mean what they say.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/git.js';
import { cleanupTmp, tmpDir } from '../helpers/tmp.js';
import { IN_CI } from '../helpers/netns.js';

afterAll(cleanupTmp);

const DIR = join(REPO_ROOT, 'deploy', 'systemd');
const UNITS = readdirSync(DIR).filter((f) => /\.(service|timer)$/.test(f)).sort();
const SERVICES = UNITS.filter((u) => u.endsWith('.service'));
const TIMERS = UNITS.filter((u) => u.endsWith('.timer'));
const haveAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;
if (!haveAnalyze && IN_CI) throw new Error('systemd-analyze missing (apt-get install systemd); required when CI=true');

const text = (u: string) => readFileSync(join(DIR, u), 'utf8');
const settings = (u: string, key: string) => text(u).split('\n').filter((l) => l.startsWith(`${key}=`)).map((l) => l.slice(key.length + 1));

describe('the units as text', () => {
  it('ships the reconcile, reconcile-once and gc units', () => {
    expect(SERVICES).toEqual(expect.arrayContaining(['fail2git-reconcile.service', 'fail2git-reconcile-once.service', 'fail2git-gc.service']));
  });

  it.each(UNITS)('%s names its documentation', (u) => {
    const docs = settings(u, 'Documentation').join(' ');
    expect(docs).toMatch(/\bman:fail2git(-[a-z]+)?\(1\)/);
  });

  it.each(SERVICES)('%s runs fail2git from the PATH systemd searches (/usr/bin for the package, /usr/local/bin by hand)', (u) => {
    for (const exec of settings(u, 'ExecStart')) expect(exec).toMatch(/^fail2git /);
  });

  it.each(SERVICES)('%s keeps only the capabilities it needs', (u) => {
    const caps = settings(u, 'CapabilityBoundingSet').join(' ').split(/\s+/).filter(Boolean).sort();
    // Kernel targets need CAP_NET_ADMIN (and NET_RAW for iptables); gc needs none.
    expect(caps).toEqual(u.includes('reconcile') ? ['CAP_NET_ADMIN', 'CAP_NET_RAW'] : []);
  });

  it.each(TIMERS)('%s uses Persistent= only with a calendar (it does nothing on monotonic timers)', (u) => {
    if (settings(u, 'Persistent').includes('true')) expect(settings(u, 'OnCalendar').length).toBeGreaterThan(0);
  });
});

describe.skipIf(!haveAnalyze)('systemd-analyze', () => {
  it.each(SERVICES)('security rates %s ≤ 4.0', (u) => {
    const r = spawnSync('systemd-analyze', ['security', '--offline=true', '--no-pager', join(DIR, u)], { encoding: 'utf8' });
    const m = /Overall exposure level for \S+: (\d+\.\d+)/.exec(r.stdout + r.stderr);
    expect(m, r.stdout + r.stderr).not.toBeNull();
    expect(Number(m![1])).toBeLessThanOrEqual(4.0);
  });

  it('verify accepts every unit, with fail2git installed where systemd looks', () => {
    // A root holding the system's own units plus ours and an executable /usr/bin/fail2git.
    const root = tmpDir('f2g-units');
    mkdirSync(join(root, 'usr/bin'), { recursive: true });
    mkdirSync(join(root, 'etc/systemd/system'), { recursive: true });
    writeFileSync(join(root, 'usr/bin/fail2git'), '#!/bin/sh\n', { mode: 0o755 });
    cpSync('/usr/lib/systemd/system', join(root, 'usr/lib/systemd/system'), { recursive: true, verbatimSymlinks: true });
    for (const u of UNITS) cpSync(join(DIR, u), join(root, 'etc/systemd/system', u));
    const r = spawnSync('systemd-analyze', ['verify', `--root=${root}`, '--man=no', ...UNITS], { cwd: join(root, 'etc/systemd/system'), encoding: 'utf8' });
    const complaints = (r.stderr ?? '').split('\n').filter((l) => l.includes('fail2git'));
    expect(complaints).toEqual([]);
    expect(r.status, r.stderr).toBe(0);
  });
});
