/**
 * `nftables` driver: its own `table inet <table>` (interval sets v4/v6, bookkeeping sets for
 * nested entries, drop rules in input/forward hooks), read as JSON and changed by one atomic
 * `nft -f -` transaction per apply. The table is declared with `add`, which never flushes;
 * no other table is read or written. See nft-format.ts for the covered-entries rule.
 */
import { Fail2gitError } from '../lib/errors.js';
import { guarded } from './utils/failure.js';
import { TABLE_NAME_RE, chainsMatch, emptyState, observedFromState, parseNftTable, renderNftTransaction, type NftState } from './nftables-format.js';
import { ENFORCE_VALUES, MAX_ENTRIES, options, type Enforce } from './utils/options.js';
import type { Plan, Target, TargetFactory } from './types.js';
import type { Runner } from '../lib/exec.js';

const DRIVER = 'nftables';

export interface NftablesOptions {
  /** name of the inet table fail2git owns. @default "fail2git" */
  table: string;
  /** hooks that drop traffic from banned sources. @default "input" */
  enforce: Enforce;
  /** at most this many entries; none by default */
  maxEntries?: number;
}

export function nftablesOptions(name: string, raw: Record<string, unknown>): NftablesOptions {
  const o = options(name, DRIVER, raw).only(['table', 'enforce', MAX_ENTRIES]);
  const maxEntries = o.maxEntries();
  return {
    ...(maxEntries !== undefined && { maxEntries }),
    table: o.string('table', 'fail2git', TABLE_NAME_RE, 'a letter, then letters, digits or _, at most 31 characters'),
    enforce: o.oneOf('enforce', ENFORCE_VALUES, 'input'),
  };
}

export const createNftables: TargetFactory = (name, raw, deps) => {
  const opts = nftablesOptions(name, raw);
  const step = <T>(doing: string, fn: () => Promise<T>) => guarded(name, DRIVER, doing, fn);
  // Listing a 100k-element interval set costs nft seconds, and the controller always
  // observes right before it applies; so apply() starts from that listing. It is only a
  // starting point: the transaction is atomic and names exact elements, so if the table
  // changed in between, nft rejects it whole and apply() retries from a fresh listing.
  let observed: NftState | undefined;
  let chainsBroken = false;

  const transact = async (state: NftState, plan: Plan): Promise<void> => {
    const text = renderNftTransaction(opts.table, state, plan, opts.enforce);
    if (text !== undefined) await deps.run('nft', ['-f', '-'], { input: text, timeoutMs: 300_000 });
  };

  return {
    name,
    driver: DRIVER,
    observe: () => step(`observing table inet ${opts.table}`, async () => {
      const state = await readTable(deps.run, opts.table);
      observed = state;
      const held = observedFromState(state);
      // held entries behind a broken or outdated chain are not enforced
      chainsBroken = (held.length > 0 && !chainsMatch(state, opts.enforce)) || state.problems.length > 0;
      return held;
    }),
    needsRepair: () => chainsBroken,
    warnings: () => (observed?.problems ?? []).map((p) => `table inet ${opts.table}: ${p}; the table is rebuilt`),
    capacity: () => opts.maxEntries,
    apply: (plan: Plan) => step(`applying to table inet ${opts.table}`, async () => {
      const cached = observed;
      observed = undefined;
      if (cached) {
        try {
          await transact(cached, plan);
          return { added: plan.add.length, removed: plan.remove.length };
        } catch (err) {
          deps.log.info('nftables.retry', { target: name, reason: 'table changed since observe', error: String((err as Error).message).slice(0, 200) });
        }
      }
      // from what the kernel holds now, so deletes name only present elements and a
      // replayed plan changes nothing
      await transact(await readTable(deps.run, opts.table), plan);
      return { added: plan.add.length, removed: plan.remove.length };
    }),
  } satisfies Target;
};

// --- Internal helpers ---

/**
 * nft 1.0.x prints broken JSON for a table with flags (`dormant`: its chains filter
 * nothing). The text listing says which: such a table reports no members and is rebuilt.
 */
async function unreadableTable(run: Runner, table: string): Promise<NftState> {
  const { stdout } = await run('nft', ['list', 'table', 'inet', table], { timeoutMs: 300_000 });
  const flags = /^table inet \S+ \{\n\s*flags ([^\n]+)/.exec(stdout)?.[1]?.trim();
  if (!flags) throw new Fail2gitError('E_TARGET_IO', `nft -j list table inet ${table} printed JSON that does not parse, and the table has no flags to explain it`);
  return { ...emptyState(), exists: true, problems: [`the table has flags (${flags}), e.g. dormant: its chains filter nothing`] };
}

async function readTable(run: Runner, table: string): Promise<NftState> {
  try {
    const { stdout } = await run('nft', ['-j', 'list', 'table', 'inet', table], { timeoutMs: 300_000 });
    try {
      return parseNftTable(stdout);
    } catch (err) {
      if (!(err instanceof SyntaxError)) throw err;
      return unreadableTable(run, table);
    }
  } catch (err) {
    // no table yet: it holds nothing, and observe creates nothing
    const stderr = (err as { stderr?: unknown }).stderr;
    if (typeof stderr === 'string' && stderr.includes('No such file or directory')) return emptyState();
    throw err;
  }
}
