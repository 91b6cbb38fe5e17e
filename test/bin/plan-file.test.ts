/**
 * `fail2git plan --out FILE` then `fail2git reconcile --plan FILE`: exactly what was reviewed
 * is applied, or a target whose plan has changed since (a new commit, a hand edit) is
 * refused with nothing applied. Real git remote, file targets under <stateDir>/lists/.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeLedgerRemote } from '../helpers/git.js';
import { cleanupTmp, tmpDir } from '../helpers/tmp.js';
import { banList, ledgerFiles } from '../helpers/fixtures.js';
import { cli } from '../helpers/cli.js';

afterAll(cleanupTmp);

function setup() {
  const dir = tmpDir('f2g-planfile');
  const stateDir = join(dir, 'state');
  mkdirSync(join(stateDir, 'lists'), { recursive: true });
  const list = join(stateDir, 'lists', 'alias.txt');
  const remote = makeLedgerRemote(ledgerFiles({ bans: [{ cidr: '203.0.113.7' }], targets: [{ name: 'alias', options: { format: 'txt' } }] }));
  const flags = ['--remote', remote.bare, '--host', 'web1', '--state-dir', stateDir];
  const entries = () => (existsSync(list) ? readFileSync(list, 'utf8').split('\n').filter((l) => l !== '' && !l.startsWith('#')) : []);
  return { dir, stateDir, list, remote, flags, entries, planFile: join(dir, 'plan.json') };
}

describe('saved plans', () => {
  it('plan --out saves what reconcile --plan then applies, exactly', async () => {
    const s = setup();
    const p = await cli(['plan', '--out', s.planFile, ...s.flags]);
    expect(p.code, p.stderr).toBe(0);
    expect(p.stderr).toContain(`plan saved to ${s.planFile}; apply exactly it with: fail2git reconcile --plan ${s.planFile}`);
    const saved = JSON.parse(readFileSync(s.planFile, 'utf8')) as { host: string; commit: string; targets: Record<string, { add: string[] }> };
    expect(saved).toMatchObject({ host: 'web1', commit: s.remote.head(), targets: { alias: { add: ['203.0.113.7'], remove: [] } } });
    expect(s.entries()).toEqual([]); // planning changes nothing
    const r = await cli(['reconcile', '--plan', s.planFile, ...s.flags]);
    expect(r.code, r.stderr).toBe(0);
    expect(s.entries()).toEqual(['203.0.113.7']);
  });

  it('a new commit since the plan: the target is refused as stale and nothing is applied', async () => {
    const s = setup();
    expect((await cli(['plan', '--out', s.planFile, ...s.flags])).code).toBe(0);
    s.remote.commit({ 'bans/active.yaml': banList([{ cidr: '203.0.113.7' }, { cidr: '198.51.100.66' }]) });
    const r = await cli(['reconcile', '--plan', s.planFile, ...s.flags]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/alias \(file\): PlanStale/);
    expect(r.stdout + r.stderr).toMatch(/the saved plan is stale \(it is for commit [0-9a-f]{12}, this run enforces [0-9a-f]{12}\); nothing applied, run fail2git plan --out again/);
    expect(s.entries()).toEqual([]);
    // Planned again, it goes.
    expect((await cli(['plan', '--out', s.planFile, ...s.flags])).code).toBe(0);
    expect((await cli(['reconcile', '--plan', s.planFile, ...s.flags])).code).toBe(0);
    expect(s.entries()).toEqual(['198.51.100.66', '203.0.113.7']);
  });

  it('a target changed by hand since the plan is refused too', async () => {
    const s = setup();
    expect((await cli(['plan', '--out', s.planFile, ...s.flags])).code).toBe(0);
    writeFileSync(s.list, '203.0.113.7\n');
    const r = await cli(['reconcile', '--plan', s.planFile, ...s.flags]);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toMatch(/the saved plan is stale \(it would now add 0 and remove 0, the saved plan 1 and 0\)/);
  });

  it('another host\'s plan, a file that is not a plan, and --plan with --watch are one-line errors', async () => {
    const s = setup();
    expect((await cli(['plan', '--out', s.planFile, ...s.flags])).code).toBe(0);
    const other = await cli(['reconcile', '--plan', s.planFile, '--remote', s.remote.bare, '--host', 'web2', '--state-dir', join(s.dir, 'state2')]);
    expect(other.code).toBe(1);
    expect(other.stderr).toBe(`fail2git: ${s.planFile}: the plan is for host web1, this is web2\n`);
    const junk = join(s.dir, 'junk.json');
    writeFileSync(junk, '{"version": 1}');
    const bad = await cli(['reconcile', '--plan', junk, ...s.flags]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe(`fail2git: ${junk}: not a saved plan (no host or commit); make one with fail2git plan --out FILE\n`);
    expect((await cli(['reconcile', '--plan', s.planFile, '--watch', ...s.flags])).code).toBe(2);
    expect(s.entries()).toEqual([]);
  });
});
