/**
 * The one small interface every enforcement point implements.
 *
 * A driver owns a namespace (a set, a table, a route proto, a marked IPSet section) and
 * only ever reports and changes what it owns. It does not diff, guard or retry: the
 * controller does. observe() is the truth; a driver never trusts memory of what it did.
 */
import type { Family } from '../net/cidr.js';
import type { Runner } from '../lib/exec.js';
import type { Logger } from '../lib/log.js';

/** An entry the ledger wants enforced. */
export interface DesiredEntry {
  /** canonical CIDR key */
  cidr: string;
  family: Family;
  expires?: string;
  by?: string;
  jail?: string;
  /** when the ban was (last) made, RFC 3339; ranks entries when a target is full */
  at?: string;
  /** offences so far; ranks entries when a target is full */
  count?: number;
}

/** An entry a target holds now. */
export interface ObservedEntry {
  /** canonical CIDR key */
  cidr: string;
  family: Family;
  /** the exact spelling the target stores, where it differs (Proxmox API removes by exact string) */
  raw?: string;
}

export interface Plan {
  add: DesiredEntry[];
  remove: ObservedEntry[];
}

export interface ApplyResult {
  added: number;
  removed: number;
}

export interface Target {
  readonly name: string;
  readonly driver: string;
  /** what this target owns right now, creating nothing */
  observe(): Promise<ObservedEntry[]>;
  /** make it so; creates what it needs (sets, tables, sections) on first use; idempotent */
  apply(plan: Plan): Promise<ApplyResult>;
  /**
   * After observe(): true when the entries are right but what enforces them is not (a DROP
   * rule or chain deleted or edited by hand, `enforce` changed). The controller then applies
   * even an empty plan, and apply() restores enforcement; observe() reports entries only.
   */
  needsRepair?(): boolean;
  /**
   * After observe(): how many of `ranked` (the desired entries, most important first; see
   * controller/plan/enforced-set.ts) this target can hold, as a count from the front, or
   * undefined for no known limit. The controller enforces that many and leaves out the rest.
   */
  capacity?(ranked: readonly DesiredEntry[]): number | undefined;
  /**
   * After observe(): networks the target already bans through members it does not own (a
   * hand-made member of a Proxmox IPSet). Desired entries equal to or inside one are not
   * enforced separately (folded): the add would be refused, or overlap.
   */
  coveredElsewhere?(): readonly string[];
  /** addresses this target must never ban (e.g. the API host); optional */
  protectedAddresses?(): Promise<string[]>;
  /** human-readable warnings found while observing (e.g. "cluster firewall disabled") */
  warnings?(): string[];
  close?(): Promise<void>;
}


export type { Logger } from '../lib/log.js';

export interface TargetDeps {
  /** runs programs (argv only); tests wrap it to run inside a network namespace */
  run: Runner;
  log: Logger;
  now: () => Date;
  /** name of this host, for comments and markers */
  host: string;
}

export type TargetFactory = (name: string, options: Record<string, unknown>, deps: TargetDeps) => Target;
