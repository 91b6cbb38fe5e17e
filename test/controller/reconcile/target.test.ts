/**
 * A target whose entries are right but whose enforcement is broken (needsRepair) gets an
 * apply() of the empty plan, and the run fails verification if the repair did not take.
 */
import { describe, expect, it } from 'vitest';
import { syncTarget, type SyncTargetInput } from '../../../controller/reconcile/target.js';
import { DEFAULT_POLICY, type TargetDoc } from '../../../controller/ledger/types.js';
import type { ObservedEntry, Plan, Target } from '../../../controller/targets/types.js';

const silent = { info() {}, warn() {}, error() {} };
const doc: TargetDoc = { apiVersion: 'fail2git/v1', kind: 'Target', metadata: { name: 'k' }, spec: { driver: 'ipset' } };
const held: ObservedEntry[] = [{ cidr: '192.0.2.1', family: 4 }];
const input = (dryRun = false): SyncTargetInput => ({
  desired: [{ cidr: '192.0.2.1', family: 4 }], maxRemovePerRun: [DEFAULT_POLICY.maxRemovePerRun], dryRun, force: false, previousDesired: undefined, log: silent,
});

/** Entries right; rules broken until an apply() that `fixes` them. */
function brokenRules(fixes: boolean): Target & { applied: Plan[] } {
  let broken = true;
  const applied: Plan[] = [];
  return {
    name: 'k', driver: 'ipset', applied,
    observe: async () => held,
    needsRepair: () => broken,
    apply: async (plan) => {
      applied.push(plan);
      if (fixes) broken = false;
      return { added: 0, removed: 0 };
    },
  };
}

describe('syncTarget and needsRepair', () => {
  it('applies the empty plan to repair enforcement, and reports the run as Applied', async () => {
    const target = brokenRules(true);
    const run = await syncTarget({ doc, target }, input());
    expect(target.applied).toEqual([{ add: [], remove: [] }]);
    expect(run.reason).toBe('Applied');
    expect(run.repair).toBe(true);
  });

  it('fails verification when the repair did not take', async () => {
    const run = await syncTarget({ doc, target: brokenRules(false) }, input());
    expect(run.reason).toBe('VerifyFailed');
    expect(run.error).toMatch(/does not enforce/);
  });

  it('a dry run reports the repair as a change without applying', async () => {
    const target = brokenRules(true);
    const run = await syncTarget({ doc, target }, input(true));
    expect(run.reason).toBe('DryRun');
    expect(target.applied).toEqual([]);
  });

  it('an enforced target with an empty plan is left alone', async () => {
    const target = { ...brokenRules(true), needsRepair: () => false };
    const run = await syncTarget({ doc, target }, input());
    expect(run.reason).toBe('UpToDate');
    expect(target.applied).toEqual([]);
  });
});

/** A target in memory that records what it was asked to hold. */
function memoryTarget(initial: string[] = [], cap?: number): Target & { held: Map<string, ObservedEntry> } {
  const held = new Map(initial.map((k) => [k, { cidr: k, family: (k.includes(':') ? 6 : 4) as 4 | 6 }]));
  return {
    name: 'k', driver: 'file', held,
    observe: async () => [...held.values()],
    apply: async (plan) => {
      for (const r of plan.remove) held.delete(r.cidr);
      for (const a of plan.add) held.set(a.cidr, { cidr: a.cidr, family: a.family });
      return { added: plan.add.length, removed: plan.remove.length };
    },
    ...(cap !== undefined && { capacity: () => cap }),
  };
}

describe('syncTarget: folding and capacity', () => {
  const d = (cidr: string, extra: Record<string, unknown> = {}) => ({ cidr, family: (cidr.includes(':') ? 6 : 4) as 4 | 6, ...extra });
  const logged = () => {
    const lines: string[] = [];
    return { lines, log: { info() {}, error() {}, warn: (event: string) => void lines.push(event) } };
  };

  it('enforces a covering network without its covered entries, and says how many were folded', async () => {
    const target = memoryTarget(['203.0.113.7']);
    const run = await syncTarget({ doc, target }, { ...input(), desired: [d('203.0.113.0/24'), d('203.0.113.7'), d('2001:db8::/48'), d('2001:db8::1')] });
    expect(run).toMatchObject({ reason: 'Applied', folded: 2, leftOut: 0 });
    expect([...target.held.keys()].sort()).toEqual(['2001:db8::/48', '203.0.113.0/24']);
  });

  it('taking out entries the ledger still wants (folded or left out) is not held back by the removal guard', async () => {
    const covered = Array.from({ length: 40 }, (_, i) => `10.1.0.${i + 1}`);
    const target = memoryTarget(covered);
    const run = await syncTarget({ doc, target }, { ...input(), desired: [d('10.1.0.0/24'), ...covered.map((k) => d(k))] });
    expect(run.reason).toBe('Applied');
    expect(run.held).toEqual([]);
    expect([...target.held.keys()]).toEqual(['10.1.0.0/24']);
  });

  it('a full target enforces what fits, warns once per change, and keeps taking new bans', async () => {
    const target = memoryTarget([], 2);
    const bans = [d('192.0.2.1', { at: '2026-01-01T00:00:00Z', jail: 'sshd', expires: '2027-01-01T00:00:00Z' }), d('192.0.2.2', { at: '2026-01-02T00:00:00Z', jail: 'sshd', expires: '2027-01-01T00:00:00Z' }), d('192.0.2.3', { at: '2026-01-03T00:00:00Z', jail: 'sshd', expires: '2027-01-01T00:00:00Z' })];
    const a = logged();
    const run = await syncTarget({ doc, target }, { ...input(), desired: bans, log: a.log });
    expect(run).toMatchObject({ reason: 'Applied', leftOut: 1, capacity: 2 });
    expect(a.lines).toEqual(['target.full']);
    const b = logged();
    const again = await syncTarget({ doc, target }, { ...input(), desired: bans, log: b.log, previousLeftOut: 1 });
    expect(again.reason).toBe('UpToDate');
    expect(b.lines).toEqual([]);
    const c = logged();
    const newer = [...bans, d('198.51.100.1', { at: '2026-02-01T00:00:00Z', jail: 'sshd', expires: '2027-01-01T00:00:00Z' })];
    const third = await syncTarget({ doc, target }, { ...input(), desired: newer, log: c.log, previousLeftOut: 1 });
    expect(third).toMatchObject({ reason: 'Applied', leftOut: 2 });
    expect(c.lines).toEqual(['target.full']);
    expect([...target.held.keys()].sort()).toEqual(['192.0.2.3', '198.51.100.1']);
  });
});
