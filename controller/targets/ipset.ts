/**
 * `ipset` driver: two hash:net sets (`<setName>-v4`, `<setName>-v6`) that fail2git owns
 * entirely, changed by one `ipset restore` batch per apply, plus an optional iptables /
 * ip6tables DROP rule per hook that references the set. Nothing else is read or written.
 */
import type { Family } from '../net/cidr.js';
import { guarded } from './utils/failure.js';
import {
  DEFAULT_MAXELEM, SET_NAME_RE, parseIpsetSave, renderIpsetRestore, setNames, type SetNames,
} from './ipset-format.js';
import { ENFORCE_VALUES, MAX_ENTRIES, enforcedHooks, options, type Enforce } from './utils/options.js';
import type { ObservedEntry, Plan, Target, TargetDeps, TargetFactory } from './types.js';
import type { Runner } from '../lib/exec.js';

const DRIVER = 'ipset';

export interface IpsetOptions {
  /** base name; `-v4` / `-v6` is appended. @default "fail2git" */
  setName: string;
  /** hooks that drop traffic from the sets' members. @default "input" */
  enforce: Enforce;
  /** at most this many entries (both sets together); none by default */
  maxEntries?: number;
}

export function ipsetOptions(name: string, raw: Record<string, unknown>): IpsetOptions {
  const o = options(name, DRIVER, raw).only(['setName', 'enforce', MAX_ENTRIES]);
  const maxEntries = o.maxEntries();
  return {
    ...(maxEntries !== undefined && { maxEntries }),
    setName: o.string('setName', 'fail2git', SET_NAME_RE, 'letters, digits, _ . - and at most 28 characters (ipset names are ≤ 31 with the -v4 suffix)'),
    enforce: o.oneOf('enforce', ENFORCE_VALUES, 'input'),
  };
}

export const createIpset: TargetFactory = (name, raw, deps) => {
  const opts = ipsetOptions(name, raw);
  const names = setNames(opts.setName);
  const run = deps.run;
  const step = <T>(doing: string, fn: () => Promise<T>) => guarded(name, DRIVER, doing, fn);
  let rulesBroken = false;

  return {
    name,
    driver: DRIVER,
    observe: () => step('observing sets', async () => {
      const [v4, v6, rulesOk] = await Promise.all([readSet(run, names[4], 4), readSet(run, names[6], 6), rulesMatch(run, names, opts.enforce)]);
      const out = [...v4, ...v6];
      // held entries without their DROP rules (deleted by hand, enforce changed) are not enforced
      rulesBroken = out.length > 0 && !rulesOk;
      return out;
    }),
    needsRepair: () => rulesBroken,
    capacity: () => opts.maxEntries,
    apply: (plan: Plan) => step('applying', async () => {
      const existing = await existingSets(run);
      const maxelem = Math.max(DEFAULT_MAXELEM, 2 * plan.add.length);
      const batch = renderIpsetRestore(plan, names, maxelem, (set) => !existing.has(set));
      await run('ipset', ['restore'], { input: batch, timeoutMs: 300_000 });
      await ensureRules(run, names, opts.enforce, deps);
      return { added: plan.add.length, removed: plan.remove.length };
    }),
  } satisfies Target;
};

// --- Internal helpers ---

async function existingSets(run: Runner): Promise<Set<string>> {
  const { stdout } = await run('ipset', ['list', '-n']);
  return new Set(stdout.split('\n').map((l) => l.trim()).filter(Boolean));
}

async function readSet(run: Runner, set: string, family: Family): Promise<ObservedEntry[]> {
  try {
    const { stdout } = await run('ipset', ['save', set], { timeoutMs: 300_000 });
    return parseIpsetSave(stdout, set, family);
  } catch (err) {
    // a set that does not exist yet holds nothing; observe creates nothing
    if (isMissingSet(err)) return [];
    throw err;
  }
}

function isMissingSet(err: unknown): boolean {
  const stderr = (err as { stderr?: unknown }).stderr;
  return typeof stderr === 'string' && stderr.includes('does not exist');
}

/** Whether exactly the wanted hooks carry our DROP rule, for both families. */
async function rulesMatch(run: Runner, names: SetNames, enforce: Enforce): Promise<boolean> {
  const checks = await Promise.all(ruleSlots(names, enforce).map(async (s) => s.wanted === (await hasRule(run, s.tool, s.chain, s.set))));
  return checks.every(Boolean);
}

interface RuleSlot {
  tool: 'iptables' | 'ip6tables';
  chain: 'INPUT' | 'FORWARD';
  set: string;
  wanted: boolean;
}

function ruleSlots(names: SetNames, enforce: Enforce): RuleSlot[] {
  const want = enforcedHooks(enforce);
  return ([4, 6] as const).flatMap((family) => (['INPUT', 'FORWARD'] as const).map((chain) => ({
    tool: family === 4 ? 'iptables' as const : 'ip6tables' as const,
    chain,
    set: names[family],
    wanted: chain === 'INPUT' ? want.input : want.forward,
  })));
}

function ruleArgs(chain: string, set: string): string[] {
  return [chain, '-m', 'set', '--match-set', set, 'src', '-j', 'DROP'];
}

async function hasRule(run: Runner, tool: string, chain: string, set: string): Promise<boolean> {
  try {
    await run(tool, ['-w', '5', '-C', ...ruleArgs(chain, set)]);
    return true;
  } catch (err) {
    // -C exits 1 when the rule is absent, and 2 naming the set when the set does not exist
    // yet (so neither can the rule); anything else (a missing binary) is a real failure
    const e = err as { exitCode?: unknown; stderr?: unknown };
    if (e.exitCode === 1) return false;
    if (e.exitCode === 2 && typeof e.stderr === 'string' && e.stderr.includes(`Set ${set} doesn't exist`)) return false;
    throw err;
  }
}

/**
 * Makes the DROP rules match `enforce`: inserted once at the top of each wanted hook (checked
 * with -C first, so never duplicated) and removed from hooks no longer wanted. Only rules that
 * reference our own sets are ever touched.
 */
async function ensureRules(run: Runner, names: SetNames, enforce: Enforce, deps: TargetDeps): Promise<void> {
  const slots = ruleSlots(names, enforce);
  const present = await Promise.all(slots.map((s) => hasRule(run, s.tool, s.chain, s.set)));
  for (const [i, s] of slots.entries()) {
    if (s.wanted === present[i]) continue;
    await run(s.tool, ['-w', '5', s.wanted ? '-I' : '-D', ...ruleArgs(s.chain, s.set)]);
    deps.log.info(s.wanted ? 'ipset.rule.inserted' : 'ipset.rule.removed', { tool: s.tool, chain: s.chain, set: s.set });
  }
}
