/**
 * A saved plan (`fail2git plan --out FILE`, applied by `fail2git reconcile --plan FILE`): what
 * a person reviewed, applied exactly or not at all. It names the host, the ledger commit and,
 * per target, the networks to add and remove. At apply time the run must enforce that same
 * commit and compute the same add/remove lists for a target, or that target is refused as
 * stale (nothing applied) and the person plans again, as with a Terraform saved plan. Pure.
 */
import { InputError } from '../lib/errors.js';
import type { Plan } from '../targets/types.js';

export interface SavedTargetPlan {
  add: string[];
  remove: string[];
}

export interface SavedPlan {
  version: 1;
  host: string;
  commit: string;
  created: string;
  targets: Record<string, SavedTargetPlan>;
}

const sorted = (xs: readonly string[]) => [...xs].sort();

export function savedPlanOf(host: string, commit: string, created: Date, targets: readonly { name: string; plan: Plan }[]): SavedPlan {
  const out: Record<string, SavedTargetPlan> = {};
  for (const t of targets) out[t.name] = { add: sorted(t.plan.add.map((a) => a.cidr)), remove: sorted(t.plan.remove.map((r) => r.cidr)) };
  return { version: 1, host, commit, created: created.toISOString().replace(/\.\d{3}Z$/, 'Z'), targets: out };
}

const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

/** The plan in `text` (read from `file`), or one line saying what is wrong with it. */
export function parseSavedPlan(text: string, file: string): SavedPlan {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new InputError('E_PLAN_FILE', `${file}: not a saved plan (not JSON); make one with fail2git plan --out FILE`);
  }
  const d = doc as Partial<SavedPlan> | null;
  const bad = (what: string) => new InputError('E_PLAN_FILE', `${file}: not a saved plan (${what}); make one with fail2git plan --out FILE`);
  if (d === null || typeof d !== 'object' || Array.isArray(d)) throw bad('not an object');
  if (d.version !== 1) throw bad('version is not 1');
  if (typeof d.host !== 'string' || typeof d.commit !== 'string' || !/^[0-9a-f]{40}$/.test(d.commit)) throw bad('no host or commit');
  if (d.targets === null || typeof d.targets !== 'object' || Array.isArray(d.targets)) throw bad('no targets');
  for (const [name, t] of Object.entries(d.targets)) {
    if (t === null || typeof t !== 'object' || !isStrings((t as SavedTargetPlan).add) || !isStrings((t as SavedTargetPlan).remove)) throw bad(`target ${JSON.stringify(name)} has no add/remove lists`);
  }
  return { version: 1, host: d.host, commit: d.commit, created: typeof d.created === 'string' ? d.created : '', targets: d.targets };
}

/** Why the plan computed now differs from the saved one for a target, or undefined when they agree. */
export function planMismatch(saved: SavedTargetPlan | undefined, now: Plan): string | undefined {
  const want = saved ?? { add: [], remove: [] };
  const add = sorted(now.add.map((a) => a.cidr));
  const remove = sorted(now.remove.map((r) => r.cidr));
  const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
  if (same(add, sorted(want.add)) && same(remove, sorted(want.remove))) return undefined;
  return `it would now add ${add.length} and remove ${remove.length}, the saved plan ${want.add.length} and ${want.remove.length}`;
}
