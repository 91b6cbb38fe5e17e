/**
 * Pure text for the `nftables` driver: reading `nft -j list table inet T` and writing one
 * `nft -f -` transaction.
 *
 * The table holds interval sets `v4` / `v6` that match traffic. The kernel refuses
 * overlapping intervals, yet a ledger may ban 10.0.0.0/8 and 10.1.2.3 at once. Rule: the
 * outermost CIDRs go into `v4`/`v6`; entries covered by another are recorded in
 * `v4_covered`/`v6_covered` (network . netmask pairs, no intervals, so they may nest).
 * observe() reports every element of `v4`/`v6`, plus each recorded covered entry whose cover
 * is really in the set now. So the covered entries converge like any other (a second run is
 * a no-op) while enforcement is decided by the kernel's own sets alone.
 */
import { Fail2gitError } from '../lib/errors.js';
import { parseCidr, cidrKey, FAMILY_BITS, type Cidr, type Family } from '../net/cidr.js';
import { maskPrefix, prefixMask, rangeToCidrs, splitCovered } from '../net/cidr-range.js';
import { enforcedHooks, type Enforce } from './utils/options.js';
import type { ObservedEntry, Plan } from './types.js';

export const TABLE_NAME_RE = /^[A-Za-z][A-Za-z0-9_]{0,30}$/;
const CHAIN_PRIORITY = -10;
/** elements per statement: keeps single lines reasonable for 100k-entry transactions */
const CHUNK = 2000;
/** beyond this many deletes from one interval set, rebuilding it is cheaper (see familyOps) */
export const REBUILD_AFTER_DELETES = 8;

export interface SetElement {
  /** the element as nft prints it (a delete must name it exactly) */
  raw: string;
  /** canonical keys of the CIDRs it covers: one for a prefix or address, several for a hand-made range */
  keys: string[];
}

export interface NftState {
  exists: boolean;
  elements: Record<Family, SetElement[]>;
  covered: Record<Family, Cidr[]>;
  /** which of our sets exist */
  sets: Set<string>;
  /** chain name → rule signatures, for chains that exist with the expected hook */
  chains: Map<string, string[]>;
  /**
   * What is of the wrong shape (a set made by hand with another type or flags, a base chain
   * of another type): nft cannot change a set's type in place, so apply() rebuilds the
   * whole table in one transaction. A set listed here reports no members.
   */
  problems: string[];
}

export const SET_NAMES = { 4: 'v4', 6: 'v6' } as const;
export const COVERED_NAMES = { 4: 'v4_covered', 6: 'v6_covered' } as const;
const FAMILIES = [4, 6] as const;
const DROP_RULES = ['ip saddr @v4 drop', 'ip6 saddr @v6 drop'];

export function emptyState(): NftState {
  return { exists: false, elements: { 4: [], 6: [] }, covered: { 4: [], 6: [] }, sets: new Set(), chains: new Map(), problems: [] };
}

// --- reading ---

type Json = Record<string, unknown>;

/** Parses `nft -j list table inet T` output. */
export function parseNftTable(text: string): NftState {
  const state = emptyState();
  state.exists = true;
  const doc: unknown = JSON.parse(text);
  const items = isJson(doc) ? (doc.nftables ?? []) : doc;
  if (!Array.isArray(items)) throw unexpectedListing(`${describe(items)} where a list of objects belongs ("nftables")`);
  for (const item of items as unknown[]) {
    if (!isJson(item)) throw unexpectedListing(`${describe(item)} where an object belongs in "nftables"`);
    const kind = (['table', 'set', 'chain', 'rule'] as const).find((k) => item[k] !== undefined && item[k] !== null);
    if (kind === undefined) continue; // metainfo, elements of other sets, objects of later nft versions
    const body = item[kind];
    if (!isJson(body)) throw unexpectedListing(`a ${kind} that is ${describe(body)}, not an object`);
    if (kind === 'table') readTableFlags(state, body);
    else if (kind === 'set') readSet(state, body);
    else if (kind === 'chain') readChain(state, body);
    else readRule(state, body);
  }
  return state;
}

function isJson(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v).slice(0, 40)}`;
}

/** Wrapped by the driver's guarded() into the target's E_TARGET_IO line. */
function unexpectedListing(what: string): Fail2gitError {
  return new Fail2gitError('E_TARGET_IO', `nft -j list printed ${what}`);
}

/** A table with flags (`dormant`: its chains do nothing) does not enforce; rebuilt without them. */
function readTableFlags(state: NftState, table: Json): void {
  const flags = table.flags;
  if (flags === undefined || (Array.isArray(flags) && flags.length === 0)) return;
  state.problems.push(`the table has flags (${Array.isArray(flags) ? flags.join(',') : String(flags)}), e.g. dormant: its chains filter nothing`);
}

/** What each of our sets must be: its type and flags exactly, nothing that expires, merges or caps members. */
const SET_SHAPES: Record<string, { type: string; flags: string }> = {
  v4: { type: 'ipv4_addr', flags: 'interval' },
  v6: { type: 'ipv6_addr', flags: 'interval' },
  v4_covered: { type: 'ipv4_addr . ipv4_addr', flags: '' },
  v6_covered: { type: 'ipv6_addr . ipv6_addr', flags: '' },
};

/** Why a set of ours cannot be used as it is, or undefined. */
export function setShapeProblem(set: Json): string | undefined {
  const want = SET_SHAPES[String(set.name)];
  if (!want) return undefined;
  const type = Array.isArray(set.type) ? set.type.map(String).join(' . ') : String(set.type);
  const flags = (Array.isArray(set.flags) ? set.flags.map(String) : set.flags === undefined ? [] : [String(set.flags)]).sort().join(',');
  const extras = ['timeout', 'size', 'gc-interval', 'auto-merge'].filter((k) => k in set);
  if (type === want.type && flags === want.flags && extras.length === 0) return undefined;
  const has = [`type ${type}`, ...(flags ? [`flags ${flags}`] : []), ...extras].join(', ');
  return `set ${String(set.name)} has ${has}; fail2git needs type ${want.type}${want.flags ? `, flags ${want.flags}` : ''} and nothing else`;
}

function readSet(state: NftState, set: Json): void {
  const name = String(set.name);
  const problem = setShapeProblem(set);
  if (problem) {
    state.problems.push(problem);
    return; // members of a set of another type mean nothing to us: reported as none, rebuilt
  }
  const elems = set.elem ?? [];
  if (!Array.isArray(elems)) throw unexpectedListing(`set ${name} with "elem" ${describe(elems)}, not a list`);
  for (const family of FAMILIES) {
    if (name === SET_NAMES[family]) {
      state.sets.add(name);
      state.elements[family] = elems.map((e) => readElement(unwrap(e)));
    } else if (name === COVERED_NAMES[family]) {
      state.sets.add(name);
      state.covered[family] = elems.flatMap((e) => readCoveredPair(family, unwrap(e)));
    }
  }
}

/** Elements with a comment or timeout come wrapped as {elem: {val, ...}}. */
function unwrap(e: unknown): unknown {
  const wrapped = isJson(e) ? e.elem : undefined;
  return isJson(wrapped) ? wrapped.val : e;
}

function readElement(v: unknown): SetElement {
  if (typeof v === 'string') return { raw: v, keys: [cidrKey(v).key] };
  const o = isJson(v) ? v : {};
  const p = o.prefix;
  if (isJson(p) && typeof p.addr === 'string' && typeof p.len === 'number') {
    const raw = `${p.addr}/${p.len}`;
    return { raw, keys: [cidrKey(raw).key] };
  }
  const range = o.range;
  if (Array.isArray(range) && range.length === 2 && typeof range[0] === 'string' && typeof range[1] === 'string') {
    const [a, b] = range as [string, string];
    return { raw: `${a}-${b}`, keys: rangeToCidrs(a, b).map((c) => c.key) };
  }
  // Wrapped by the driver's guarded() into the target's E_TARGET_IO line.
  throw new Fail2gitError('E_TARGET_IO', `unexpected nft set element ${JSON.stringify(v)}`);
}

function readCoveredPair(family: Family, v: unknown): Cidr[] {
  const pair = isJson(v) ? v.concat : undefined;
  if (!Array.isArray(pair) || typeof pair[0] !== 'string' || typeof pair[1] !== 'string') return [];
  const prefix = maskPrefix(family, pair[1]);
  if (prefix === undefined) return [];
  try {
    return [parseCidr(prefix === FAMILY_BITS[family] ? pair[0] : `${pair[0]}/${prefix}`)];
  } catch {
    return []; // a malformed record is simply not reported, and rewritten on the next apply
  }
}

function readChain(state: NftState, chain: Json): void {
  const name = String(chain.name);
  if ((name === 'input' || name === 'forward') && chain.type !== undefined && chain.type !== 'filter') {
    state.problems.push(`chain ${name} is of type ${String(chain.type)}, not filter`);
  } else if ((name === 'input' || name === 'forward') && chain.hook === name && chain.prio === CHAIN_PRIORITY && chain.policy === 'accept') {
    state.chains.set(name, state.chains.get(name) ?? []);
  } else if (name === 'input' || name === 'forward') {
    state.chains.set(name, ['(unexpected chain definition)']);
  }
}

function readRule(state: NftState, rule: Json): void {
  const rules = state.chains.get(String(rule.chain));
  if (rules) rules.push(ruleSignature(rule.expr));
}

/** `ip saddr @v4 drop` for the rules we write; anything else is kept as JSON (and differs). */
export function ruleSignature(expr: unknown): string {
  const [m, verdict] = Array.isArray(expr) ? (expr as unknown[]) : [];
  const match = isJson(m) && isJson(m.match) ? m.match : undefined;
  const payload = match && isJson(match.left) && isJson(match.left.payload) ? match.left.payload : undefined;
  if (!match || !payload || !isJson(verdict) || (expr as unknown[]).length !== 2 || match.op !== '==') return JSON.stringify(expr) ?? String(expr);
  return `${String(payload.protocol)} ${String(payload.field)} ${String(match.right)} ${Object.keys(verdict)[0]}`;
}

/** Whether exactly the chains `enforce` asks for exist, each holding exactly our drop rules. */
export function chainsMatch(state: NftState, enforce: Enforce): boolean {
  const want = enforcedHooks(enforce);
  return (['input', 'forward'] as const).every((chain) => {
    const have = state.chains.get(chain);
    return want[chain] ? have?.join('\n') === DROP_RULES.join('\n') : have === undefined;
  });
}

export function observedFromState(state: NftState): ObservedEntry[] {
  const out: ObservedEntry[] = [];
  for (const family of FAMILIES) {
    const inSet = state.elements[family].flatMap((e) => e.keys);
    for (const key of inSet) out.push({ cidr: key, family });
    const held = new Set(inSet);
    const candidates = state.covered[family].filter((c) => !held.has(c.key));
    if (candidates.length === 0) continue;
    // a recorded covered entry counts only while something in the set really covers it
    const { covered } = splitCovered([...inSet.map(parseCidr), ...candidates]);
    const coveredKeys = new Set(covered.map((c) => c.key));
    for (const c of candidates) if (coveredKeys.has(c.key)) out.push({ cidr: c.key, family });
  }
  return dedupe(out);
}

function dedupe(entries: ObservedEntry[]): ObservedEntry[] {
  const seen = new Set<string>();
  return entries.filter((e) => !seen.has(e.cidr) && (seen.add(e.cidr), true));
}

// --- writing ---

/**
 * The transaction that takes the table from `state` to `state + plan`, or undefined when
 * there is nothing to do. It never flushes a set: only named elements are deleted, only
 * elements known to be present, so replaying a plan is harmless.
 */
export function renderNftTransaction(table: string, state: NftState, plan: Plan, enforce: Enforce): string | undefined {
  if (state.problems.length > 0) return renderRebuild(table, state, plan, enforce);
  const body: string[] = [];
  for (const family of FAMILIES) body.push(...familyOps(table, state, plan, family));
  body.push(...chainOps(table, state, enforce));
  const complete = state.exists && Object.values({ ...SET_NAMES, ...COVERED_NAMES }).every((s) => state.sets.has(s));
  if (body.length === 0 && complete) return undefined;
  return [...declarations(table), ...body].join('\n') + '\n';
}

/**
 * The whole table again, in one transaction (`add` + `delete` + build: atomic, so traffic
 * is never unfiltered): what the good sets hold, minus the plan's removals, plus its adds.
 */
function renderRebuild(table: string, state: NftState, plan: Plan, enforce: Enforce): string {
  const gone = new Set(plan.remove.map((e) => e.cidr));
  const kept = observedFromState({ ...state, problems: [] }).filter((e) => !gone.has(e.cidr));
  const fresh = renderNftTransaction(table, emptyState(), { add: [...kept, ...plan.add], remove: [] }, enforce)!;
  return `add table inet ${table}\ndelete table inet ${table}\n${fresh}`;
}

function declarations(table: string): string[] {
  // `add` of an existing table or set changes nothing and flushes nothing
  return [
    `add table inet ${table}`,
    `add set inet ${table} v4 { type ipv4_addr; flags interval; }`,
    `add set inet ${table} v6 { type ipv6_addr; flags interval; }`,
    `add set inet ${table} v4_covered { type ipv4_addr . ipv4_addr; }`,
    `add set inet ${table} v6_covered { type ipv6_addr . ipv6_addr; }`,
  ];
}

function familyOps(table: string, state: NftState, plan: Plan, family: Family): string[] {
  const current = observedFromState({ ...state, elements: { 4: [], 6: [], [family]: state.elements[family] }, covered: { 4: [], 6: [], [family]: state.covered[family] } });
  const removed = new Set(plan.remove.filter((e) => e.family === family).map((e) => e.cidr));
  const want = new Set<string>();
  for (const e of current) if (!removed.has(e.cidr)) want.add(e.cidr);
  for (const e of plan.add) if (e.family === family) want.add(e.cidr);
  // Kernel elements never overlap, so with nothing added and nothing recorded as covered the
  // split is known without parsing and sorting 100k networks.
  const trivial = !plan.add.some((e) => e.family === family) && state.covered[family].length === 0;
  const split = trivial ? undefined : splitCovered([...want].map(parseCidr));
  const outerKeys = split ? new Set(split.outer.map((c) => c.key)) : want;
  const covered = split?.covered ?? [];

  const kept = new Set<string>();
  const delElems: string[] = [];
  for (const el of state.elements[family]) {
    const single = el.keys.length === 1 && el.keys[0]!;
    if (single && outerKeys.has(single) && !kept.has(single)) kept.add(single);
    else delElems.push(el.raw);
  }
  const addElems = [...outerKeys].filter((k) => !kept.has(k));

  const coveredNow = new Set(state.covered[family].map((c) => c.key));
  const coveredWant = new Set(covered.map((c) => c.key));
  const delCovered = state.covered[family].filter((c) => !coveredWant.has(c.key)).map((c) => pair(c));
  const addCovered = covered.filter((c) => !coveredNow.has(c.key)).map((c) => pair(c));

  if (delElems.length > REBUILD_AFTER_DELETES) {
    // nft deletes interval elements one by one at a cost that grows with the set (10 ms each
    // at 20k elements: minutes for a mass expiry), while re-adding the whole set is linear.
    // Flush and refill in the same transaction, so the kernel switches atomically.
    return [
      `flush set inet ${table} ${SET_NAMES[family]}`,
      ...statements('delete', table, COVERED_NAMES[family], dedupeText(delCovered)),
      ...statements('add', table, SET_NAMES[family], [...outerKeys]),
      ...statements('add', table, COVERED_NAMES[family], addCovered),
    ];
  }
  return [
    ...statements('delete', table, SET_NAMES[family], dedupeText(delElems)),
    ...statements('delete', table, COVERED_NAMES[family], dedupeText(delCovered)),
    ...statements('add', table, SET_NAMES[family], addElems),
    ...statements('add', table, COVERED_NAMES[family], addCovered),
  ];
}

function pair(c: Cidr): string {
  const address = c.key.split('/')[0]!;
  return `${address} . ${prefixMask(c.family, c.prefix)}`;
}

function dedupeText(items: string[]): string[] {
  return [...new Set(items)];
}

function statements(verb: 'add' | 'delete', table: string, set: string, elems: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < elems.length; i += CHUNK) {
    out.push(`${verb} element inet ${table} ${set} { ${elems.slice(i, i + CHUNK).join(', ')} }`);
  }
  return out;
}

function chainOps(table: string, state: NftState, enforce: Enforce): string[] {
  const want = enforcedHooks(enforce);
  const out: string[] = [];
  for (const chain of ['input', 'forward'] as const) {
    const have = state.chains.get(chain);
    if (want[chain]) {
      const rules = DROP_RULES;
      if (have && have.join('\n') === rules.join('\n')) continue;
      // rebuilt in the same transaction, so there is no moment without the drop rules
      if (have) out.push(`flush chain inet ${table} ${chain}`, `delete chain inet ${table} ${chain}`);
      out.push(`add chain inet ${table} ${chain} { type filter hook ${chain} priority ${CHAIN_PRIORITY}; policy accept; }`);
      for (const r of rules) out.push(`add rule inet ${table} ${chain} ${r}`);
    } else if (have) {
      out.push(`flush chain inet ${table} ${chain}`, `delete chain inet ${table} ${chain}`);
    }
  }
  return out;
}
