/**
 * A Set-backed reference target: owns the keys in its store and nothing else.
 * It backs the reconcile tests (state survives across runs through a shared store)
 * and shows the smallest complete Target. Faults can be switched on to test isolation.
 */
import { familyOf } from '../net/cidr.js';
import { TargetError } from '../lib/errors.js';
import type { ApplyResult, ObservedEntry, Plan, Target } from './types.js';

export const MEMORY_DRIVER = 'memory';

export interface MemoryTargetOptions {
  /** shared state, so a test can inspect or tamper with it between runs */
  store?: Set<string>;
  /** addresses this target asks never to ban */
  protectedAddresses?: string[];
  /** make observe() or apply() fail (a broken driver) */
  fail?: 'observe' | 'apply';
  /** apply() silently ignores removals (a driver that lies), to exercise verification */
  dropRemovals?: boolean;
}

export function createMemoryTarget(name: string, opts: MemoryTargetOptions = {}): Target & { store: Set<string>; applied: Plan[] } {
  const store = opts.store ?? new Set<string>();
  const applied: Plan[] = [];
  return {
    name,
    driver: MEMORY_DRIVER,
    store,
    applied,
    async observe(): Promise<ObservedEntry[]> {
      if (opts.fail === 'observe') throw new TargetError(name, 'E_MEMORY_FAULT', `[memory] [${name}] observe failed (injected fault)`);
      return [...store].sort().map((cidr) => ({ cidr, family: familyOf(cidr) }));
    },
    async apply(plan: Plan): Promise<ApplyResult> {
      if (opts.fail === 'apply') throw new TargetError(name, 'E_MEMORY_FAULT', `[memory] [${name}] apply failed (injected fault)`);
      applied.push(plan);
      let added = 0;
      let removed = 0;
      for (const a of plan.add) if (!store.has(a.cidr)) (store.add(a.cidr), added++);
      if (!opts.dropRemovals) for (const r of plan.remove) if (store.delete(r.cidr)) removed++;
      return { added, removed };
    },
    async protectedAddresses(): Promise<string[]> {
      return opts.protectedAddresses ?? [];
    },
  };
}
