/**
 * `ipset` driver: two hash:net sets (`<setName>-v4`, `<setName>-v6`) that fail2git owns
 * entirely, changed by one `ipset restore` batch per apply, plus an optional iptables /
 * ip6tables DROP rule per hook that references the set. Nothing else is read or written.
 */
import type { Family } from '../net/cidr.js';
import { guarded } from './utils/failure.js';
import { createHash } from 'node:crypto';
import {
  SET_NAME_RE, createSetLine, failedRestoreLine, maxelemFor, parseSavedSet, parseSetHeader, renderIpsetRestore, setNames, shapeProblem,
  type SavedSet, type SetHeader, type SetNames,
} from './ipset-format.js';
import { TargetError } from '../lib/errors.js';
import { ENFORCE_VALUES, MAX_ENTRIES, enforcedHooks, options, type Enforce } from './utils/options.js';
import type { ObservedEntry, Plan, Target, TargetDeps, TargetFactory } from './types.js';
import { ExecError, type Runner } from '../lib/exec.js';

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
  /** per family, the shape problem observe() found (a set made by hand with another type, nomatch members, a timeout) */
  let broken: Partial<Record<Family, string>> = {};

  return {
    name,
    driver: DRIVER,
    observe: () => step('observing sets', async () => {
      const [v4, v6, rulesOk] = await Promise.all([readSet(run, names[4], 4), readSet(run, names[6], 6), rulesMatch(run, names, opts.enforce)]);
      broken = {};
      const out: ObservedEntry[] = [];
      for (const [family, saved] of [[4, v4], [6, v6]] as const) {
        const bad = shapeProblem(saved, family);
        if (bad) broken[family] = bad.problem;
        // a set of another type holds nothing we can read as bans (hash:ip lists a /24 as
        // 256 hosts): it reports nothing and apply() replaces it
        if (!bad || bad.swappable) for (const e of saved.entries) out.push(e); // (no spread: 100,000s of arguments)
      }
      // held entries without their DROP rules (deleted by hand, enforce changed) are not enforced
      rulesBroken = out.length > 0 && !rulesOk;
      return out;
    }),
    needsRepair: () => rulesBroken || Object.keys(broken).length > 0,
    capacity: () => opts.maxEntries,
    warnings: () => Object.entries(broken).map(([f, problem]) => `set ${names[Number(f) as Family]} ${problem}; it is rebuilt`),
    apply: (plan: Plan) => step('applying', async () => {
      const failed: string[] = [];
      const rebuilt: Family[] = [];
      const rest: Plan = { add: [], remove: [] };
      for (const family of [4, 6] as const) {
        const set = names[family];
        const header = await readHeader(run, set);
        const adds = plan.add.filter((e) => e.family === family);
        const removes = plan.remove.filter((e) => e.family === family);
        const shape = header && shapeProblem({ exists: true, ...header, entries: [], nomatch: broken[family]?.includes('nomatch') ? 1 : 0 }, family);
        const tooSmall = header?.maxelem !== undefined && header.size + adds.length > header.maxelem;
        if (header && (shape || tooSmall)) {
          const why = shape?.problem ?? `has maxelem ${header.maxelem}, too small for ${header.size + adds.length} members`;
          failed.push(...await rebuildSet(run, { target: name, set, family, why, swappable: shape?.swappable ?? true, references: header.references, enforce: opts.enforce, names, adds, removes, log: deps.log }));
          rebuilt.push(family);
          continue;
        }
        rest.add.push(...adds);
        rest.remove.push(...removes);
      }
      const existing = await existingSets(run);
      const lines = renderIpsetRestore(rest, names, maxelemFor(rest.add.length), (set) => !existing.has(set)).split('\n').filter(Boolean);
      failed.push(...await restoreLines(run, lines));
      await ensureRules(run, names, opts.enforce, deps);
      for (const family of rebuilt) await dropTemp(run, tempSetName(names[family]), family);
      broken = {};
      if (failed.length > 0) {
        const more = failed.length > 3 ? ` and ${failed.length - 3} more` : '';
        throw new TargetError(name, 'E_TARGET_IO', `target ${JSON.stringify(name)} (ipset): ${failed.length} set changes failed, the others were applied: ${failed.slice(0, 3).join('; ')}${more}`);
      }
      return { added: plan.add.length, removed: plan.remove.length };
    }),
  } satisfies Target;
};

// --- Internal helpers ---

const RESTORE_TIMEOUT_MS = 300_000;
/** bad lines skipped per restore before giving up (each costs one more restore) */
const MAX_BAD_LINES = 20;

async function existingSets(run: Runner): Promise<Set<string>> {
  const { stdout } = await run('ipset', ['list', '-n']);
  return new Set(stdout.split('\n').map((l) => l.trim()).filter(Boolean));
}

async function readSet(run: Runner, set: string, family: Family): Promise<SavedSet> {
  try {
    const { stdout } = await run('ipset', ['save', set], { timeoutMs: RESTORE_TIMEOUT_MS });
    return parseSavedSet(stdout, set, family);
  } catch (err) {
    // a set that does not exist yet holds nothing; observe creates nothing
    if (isMissingSet(err)) return { exists: false, entries: [], nomatch: 0 };
    throw err;
  }
}

async function readHeader(run: Runner, set: string): Promise<SetHeader | undefined> {
  try {
    return parseSetHeader((await run('ipset', ['list', '-t', set])).stdout);
  } catch (err) {
    if (isMissingSet(err)) return undefined;
    throw err;
  }
}

function isMissingSet(err: unknown): boolean {
  const stderr = (err as { stderr?: unknown }).stderr;
  return typeof stderr === 'string' && stderr.includes('does not exist');
}

/**
 * One `ipset restore` of `lines` (every add/del carries -exist, so a replay is harmless). A
 * line the tool refuses ("Error in line N") is taken out and the rest restored again, so one
 * bad member never holds back every other change; the refused lines are returned.
 */
async function restoreLines(run: Runner, lines: readonly string[]): Promise<string[]> {
  let todo = [...lines];
  const failed: string[] = [];
  while (todo.length > 0) {
    try {
      await run('ipset', ['restore'], { input: todo.join('\n') + '\n', timeoutMs: RESTORE_TIMEOUT_MS });
      return failed;
    } catch (err) {
      const at = err instanceof ExecError ? failedRestoreLine(err.stderr) : undefined;
      const line = at ? todo[at.line - 1] : undefined;
      if (!at || line === undefined || !/^(add|del) /.test(line) || failed.length >= MAX_BAD_LINES) throw err;
      failed.push(`${line.replace(/ -exist$/, '')} (${at.why})`);
      todo = todo.filter((_, i) => i !== at.line - 1);
    }
  }
  return failed;
}

/** A name for the stand-in set of a repair: ≤ 31 characters, derived from the set it stands in for. */
export function tempSetName(set: string): string {
  return `f2g-tmp-${createHash('sha256').update(set).digest('hex').slice(0, 12)}`;
}

interface Rebuild {
  target: string;
  set: string;
  family: Family;
  why: string;
  swappable: boolean;
  references: number;
  enforce: Enforce;
  names: SetNames;
  adds: Plan['add'];
  removes: Plan['remove'];
  log: TargetDeps['log'];
}

/**
 * Replaces a set of the wrong shape with one of ours holding what the plan says it should:
 * built beside it as a stand-in, then
 * - same type and family (a timeout, nomatch members, a small maxelem): `ipset swap`, one
 *   atomic kernel step, then the old set (now under the stand-in's name) is destroyed;
 * - another type: the kernel cannot swap those, and a set in use cannot be destroyed or
 *   renamed. Our DROP rules move to the stand-in first, so enforcement never lapses; then the
 *   old set is destroyed and created again with our shape, and the rules move back (the
 *   caller's ensureRules, then dropTemp). When rules fail2git did not make use the set, it
 *   is left alone and the target fails with one line saying so.
 */
async function rebuildSet(run: Runner, r: Rebuild): Promise<string[]> {
  const tmp = tempSetName(r.set);
  const slots = ruleSlots(r.names, r.enforce).filter((s) => s.set === r.set);
  const ours = (await Promise.all(slots.map((s) => hasRule(run, s.tool, s.chain, s.set)))).filter(Boolean).length;
  if (!r.swappable && r.references > ours) {
    throw new TargetError(r.target, 'E_TARGET_SHAPE',
      `target ${JSON.stringify(r.target)} (ipset): set ${r.set} ${r.why}, and ${r.references - ours} rule(s) fail2git did not make use it, so it cannot be replaced; ` +
      `remove those rules or the set (ipset destroy ${r.set}), and the next run creates it as hash:net`);
  }
  const current = r.swappable ? (await readSet(run, r.set, r.family)).entries : [];
  const gone = new Set(r.removes.map((e) => e.cidr));
  const next = [...new Set([...current.map((e) => e.cidr).filter((k) => !gone.has(k)), ...r.adds.map((e) => e.cidr)])];
  const fill = (set: string) => [createSetLine(set, r.family, maxelemFor(next.length)) + ' -exist', ...next.map((k) => `add ${set} ${k} -exist`)];
  r.log.info('ipset.rebuild', { target: r.target, set: r.set, why: r.why, members: next.length });
  await dropTemp(run, tmp, r.family);
  const failed = await restoreLines(run, fill(tmp));
  if (r.swappable) {
    await run('ipset', ['swap', tmp, r.set]);
    await run('ipset', ['destroy', tmp]);
    return failed;
  }
  for (const s of slots) if (s.wanted) await run(s.tool, ['-w', '5', '-I', ...ruleArgs(s.chain, tmp)]);
  for (const s of slots) if (await hasRule(run, s.tool, s.chain, r.set)) await run(s.tool, ['-w', '5', '-D', ...ruleArgs(s.chain, r.set)]);
  await run('ipset', ['destroy', r.set]);
  await restoreLines(run, fill(r.set));
  return failed;
}

/** Removes a stand-in set left by a repair, with the DROP rules that used it. */
async function dropTemp(run: Runner, tmp: string, family: Family): Promise<void> {
  if (!(await readHeader(run, tmp))) return;
  const tool = family === 4 ? 'iptables' : 'ip6tables';
  for (const chain of ['INPUT', 'FORWARD'] as const) {
    // Each -D removes one copy; bounded, so a tool that reports a rule it never removes cannot spin us forever.
    for (let n = 0; n < 64 && (await hasRule(run, tool, chain, tmp)); n++) await run(tool, ['-w', '5', '-D', ...ruleArgs(chain, tmp)]);
  }
  await run('ipset', ['destroy', tmp]);
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
    // (or, for a set of another family or type made by hand, names it as unusable: no rule of ours can use it)
    if (e.exitCode === 2 && typeof e.stderr === 'string' && (e.stderr.includes(`Set ${set} doesn't exist`) || e.stderr.includes(`set ${set} `))) return false;
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
