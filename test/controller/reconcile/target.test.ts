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
