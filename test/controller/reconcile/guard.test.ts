/**
 * A guard cannot be loosened by the commit it guards: with a real git remote, a commit that
 * raises maxRemovePerRun to 100 % and empties the bans is held by the removal guard, and one
 * that narrows the allowlist does not start enforcing a ban inside the old allowlist in the
 * run that first enforces it. Memory targets for the run's logic; the CLI with a file target
 * for what people run.
 */
import { afterAll, describe, expect, it } from 'vitest';

import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { reconcile, type ReconcileConfig, type ReconcileDeps, type ReconcileOptions } from '../../../controller/reconcile.js';
import { createMemoryLogger } from '../../../controller/lib/log.js';
import { createMemoryTarget } from '../../../controller/targets/memory.js';
import { execRunner } from '../../../controller/lib/exec.js';
import { makeLedgerRemote, type LedgerRemote } from '../../helpers/git.js';
import { cleanupTmp, tmpDir } from '../../helpers/tmp.js';
import { allowList, banList, ledgerFiles, policy, type FixtureBan } from '../../helpers/fixtures.js';
import { cli, CLI } from '../../helpers/cli.js';

afterAll(cleanupTmp);

const hosts = (n: number, base = '198.51.100.'): FixtureBan[] => Array.from({ length: n }, (_, i) => ({ cidr: `${base}${i + 1}` }));

function harness(remote: LedgerRemote) {
  const stateDir = tmpDir('f2g-guard');
  const store = new Set<string>();
  const cfg: ReconcileConfig = { remote: remote.bare, branch: 'main', host: 'gw1', stateDir, metricsFile: join(stateDir, 'fail2git.prom') };
  const log = createMemoryLogger();
  const deps: ReconcileDeps = {
    run: execRunner, log, now: () => new Date('2027-01-01T00:00:00Z'),
    createTarget: async (doc) => createMemoryTarget(doc.metadata.name, { store }),
  };
  return { log, store, keys: () => [...store].sort(), run: (o: ReconcileOptions = {}) => reconcile(cfg, o, deps) };
}

describe('the guard takes the stricter of the enforced commit and the tip', () => {
  it('one commit raising maxRemovePerRun to 100% and emptying the bans is held, run after run, until --force', async () => {
    const remote = makeLedgerRemote(ledgerFiles({ bans: hosts(30) }));
    const h = harness(remote);
    await h.run();
    expect(h.store.size).toBe(30);
    remote.commit({ 'bans/active.yaml': banList([]), 'bans/policy.yaml': policy({ maxRemovePerRun: '100%' }) });
    for (let i = 0; i < 2; i++) {
      const r = await h.run();
      expect(r.status.commit.applied).toBe(remote.head());
      expect(r.status.targets.alpha).toMatchObject({ reason: 'GuardRefused', heldRemovals: 30 });
      expect(r.status.targets.alpha!.error).toMatch(/refusing to remove 30 of 30 entries in one run \(policy maxRemovePerRun 50% allows 15\)/);
      expect(r.status.guard).toMatchObject({ forced: false, kept: [expect.stringMatching(/^maxRemovePerRun 100% is not in force yet: 50% of [0-9a-f]{12}/)] });
      expect(h.store.size).toBe(30);
    }
    expect(h.log.lines.some((l) => l.event === 'guard.stricter')).toBe(true);
    const forced = await h.run({ force: true });
    expect(forced.status.targets.alpha).toMatchObject({ reason: 'Applied', removed: 30 });
    expect(forced.status.guard).toMatchObject({ forced: true });
    expect(h.log.lines.find((l) => l.event === 'guard.forced')?.fields.kept).toEqual([expect.stringMatching(/^maxRemovePerRun 100%/)]);
    expect(h.store.size).toBe(0);
    // Enforced in full now: its limits are the baseline, nothing is kept any more.
    remote.commit({ 'bans/active.yaml': banList(hosts(2)) });
    const next = await h.run();
    expect(next.status.guard).toBeUndefined();
  });

  it('the raised limit takes effect once a commit carrying it is enforced', async () => {
    const remote = makeLedgerRemote(ledgerFiles({ bans: hosts(30) }));
    const h = harness(remote);
    await h.run();
    remote.commit({ 'bans/policy.yaml': policy({ maxRemovePerRun: '100%' }) });
    const carried = await h.run();
    expect(carried.status.targets.alpha!.reason).toBe('UpToDate');
    remote.commit({ 'bans/active.yaml': banList([]) });
    const flushed = await h.run();
    expect(flushed.status.targets.alpha).toMatchObject({ reason: 'Applied', removed: 30 });
  });

  it('a narrowed allowlist does not start enforcing a ban inside the old allowlist in the same run', async () => {
    const remote = makeLedgerRemote(ledgerFiles({ bans: [{ cidr: '192.0.2.7' }, { cidr: '198.51.100.1' }], allow: ['192.0.2.0/24'] }));
    const h = harness(remote);
    await h.run();
    expect(h.keys()).toEqual(['198.51.100.1']);
    remote.commit({ 'bans/allow.yaml': allowList([]) });
    // A dry run and a run for some targets only do not count as enforcing the commit in full.
    const dry = await h.run({ dryRun: true });
    expect(dry.targets[0]!.plan.add).toEqual([]);
    await h.run({ targets: ['alpha'] });
    expect(h.keys()).toEqual(['198.51.100.1']);
    const r = await h.run();
    expect(h.keys()).toEqual(['198.51.100.1']);
    expect(r.status.desired.skipped.allowlisted).toBe(1);
    expect(r.status.guard?.kept).toEqual([expect.stringMatching(/^1 allowlist entry removed since [0-9a-f]{12} still applies \(192\.0\.2\.0\/24\)$/)]);
    expect(h.log.lines.some((l) => l.event === 'guard.enforced')).toBe(true);
    // The run after the commit was enforced in full: the narrowed allowlist applies.
    const last = await h.run();
    expect(h.keys()).toEqual(['192.0.2.7', '198.51.100.1']);
    expect(last.status.guard).toBeUndefined();
  });

  it('a lowered broadestPrefix-bound (a broader ban allowed) waits a run too', async () => {
    const remote = makeLedgerRemote(ledgerFiles({ bans: [{ cidr: '198.51.100.1' }], policy: { broadestPrefix: { ipv4: 24, ipv6: 64 } } }));
    const h = harness(remote);
    await h.run();
    remote.commit({ 'bans/active.yaml': banList([{ cidr: '10.0.0.0/16' }, { cidr: '198.51.100.1' }]), 'bans/policy.yaml': policy({ broadestPrefix: { ipv4: 8, ipv6: 32 } }) });
    const r = await h.run();
    expect(h.keys()).toEqual(['198.51.100.1']);
    expect(r.status.desired.skipped['too-broad']).toBe(1);
    await h.run();
    expect(h.keys()).toEqual(['10.0.0.0/16', '198.51.100.1']);
  });
});

describe('fail2git reconcile: a guard-loosening commit (CLI, file target, real git remote)', () => {
  it('holds the flush a 100% maxRemovePerRun commit asks for, and keeps a ban inside the old allowlist out', async () => {
    const dir = tmpDir('f2g-guard-cli');
    const stateDir = join(dir, 'state');
    const lists = join(stateDir, 'lists');
    mkdirSync(lists, { recursive: true });
    const path = join(lists, 'gw.txt');
    const entries = (): string[] => (existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter((l) => l !== '' && !l.startsWith('#')) : []);
    const remote = makeLedgerRemote(ledgerFiles({
      bans: [...hosts(30), { cidr: '192.0.2.7' }], allow: ['192.0.2.0/24'],
      targets: [{ name: 'gw', options: { path, format: 'txt' } }],
    }));
    const flags = ['reconcile', '--remote', remote.bare, '--host', 'gw1', '--state-dir', stateDir];
    expect((await cli(flags)).code).toBe(0);
    expect(entries()).toHaveLength(30);
    remote.commit({ 'bans/active.yaml': banList([{ cidr: '192.0.2.7' }]), 'bans/allow.yaml': allowList([]), 'bans/policy.yaml': policy({ maxRemovePerRun: '100%' }) });
    const r = await cli(flags);
    expect(r.code).not.toBe(0);
    expect(entries()).toHaveLength(30);
    expect(entries()).not.toContain('192.0.2.7');
    expect(r.stdout).toMatch(/refusing to remove 30 of 30 entries/);
    const events = r.stderr.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events.find((e) => e.event === 'guard.stricter')).toMatchObject({ level: 'warn', kept: [expect.stringMatching(/^maxRemovePerRun 100%/), expect.stringMatching(/^1 allowlist entry/)] });
    const status = JSON.parse(readFileSync(join(stateDir, 'status.json'), 'utf8')) as { guard?: { kept: string[] } };
    expect(status.guard?.kept).toHaveLength(2);
  });
});
