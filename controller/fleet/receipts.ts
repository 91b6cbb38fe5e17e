/**
 * Receipts for one address: for each host of the fleet, whether it enforces the address's
 * current ban (or its lifting) yet, and since when. The deciding commit is the last one that
 * banned (or lifted) the address in the audited history (controller/audit/history.ts); a host
 * has it when that commit is an ancestor of (or is) the commit the host reports as applied.
 * "Since" is when serve first saw the host at a commit that has it (./observed.ts); without
 * such an observation, `sinceAtLatest` is the host's last run that reported it.
 */
import type { AuditReport } from '../audit/history.js';
import { printable } from '../lib/printable.js';
import type { FleetHost } from './record.js';
import type { Observed } from './observed.js';

export type ReceiptState = 'enforced' | 'not yet' | 'lifted' | 'not yet lifted' | 'expired' | 'unknown';

export interface Receipt {
  host: string;
  state: ReceiptState;
  appliedCommit?: string;
  lagCommits?: number;
  /** first seen at a commit that has the deciding commit (RFC 3339) */
  since?: string;
  /** the host's last run, which reported it: enforced at the latest since then */
  sinceAtLatest?: string;
  detail?: string;
}

export interface Receipts {
  query: string;
  /** banned = the address is banned at the audited commit; lifted = it was and is no longer */
  status: 'banned' | 'lifted' | 'expired' | 'never banned';
  /** the commit that decided it (the last ban, or the lifting) */
  commit?: string;
  commitTime?: string;
  hosts: Receipt[];
}

/** `isAncestor(a, b)`: commit a is b or an ancestor of b (git merge-base --is-ancestor). */
export type IsAncestor = (a: string, b: string) => Promise<boolean>;

const BAN_ACTIONS = new Set(['banned', 'extended', 'edited']);

export async function receiptsFor(report: AuditReport, hosts: readonly FleetHost[], observed: Observed, isAncestor: IsAncestor, now: Date): Promise<Receipts> {
  const mine = report.events.filter((e) => e.relation !== 'within');
  const current = report.current.filter((c) => c.relation !== 'within');
  const live = current.filter((c) => c.entry.expires === undefined || Date.parse(c.entry.expires) > now.getTime());
  let status: Receipts['status'];
  let decidedBy: (typeof mine)[number] | undefined;
  if (live.length > 0) {
    status = 'banned';
    const cidrs = new Set(live.map((c) => c.cidr));
    decidedBy = [...mine].reverse().find((e) => BAN_ACTIONS.has(e.action) && cidrs.has(e.cidr));
  } else if (current.length > 0) {
    status = 'expired';
  } else {
    decidedBy = [...mine].reverse()[0];
    status = decidedBy ? 'lifted' : 'never banned';
  }
  const out: Receipts = { query: report.query, status, hosts: [] };
  if (decidedBy) {
    out.commit = decidedBy.commit;
    out.commitTime = decidedBy.time;
  }
  for (const h of hosts) {
    const r: Receipt = { host: h.host, state: 'unknown' };
    const applied = h.record?.appliedCommit;
    if (applied) r.appliedCommit = applied;
    if (h.lagCommits !== undefined) r.lagCommits = h.lagCommits;
    if (!h.record) r.detail = h.problem ?? 'no readable status record';
    else if (status === 'expired') r.state = 'expired';
    else if (status === 'never banned') r.detail = 'the address was never banned';
    else if (!applied) r.detail = 'the host reports no applied commit';
    else if (!decidedBy) r.detail = 'the commit that banned it is not in the history read';
    else {
      const has = await isAncestor(decidedBy.commit, applied).catch(() => undefined);
      if (has === undefined) r.detail = 'the host\'s applied commit is unknown here';
      else {
        r.state = has ? (status === 'banned' ? 'enforced' : 'lifted') : status === 'banned' ? 'not yet' : 'not yet lifted';
        if (has) {
          for (const o of observed[h.host] ?? []) {
            if (o.commit === applied || (await isAncestor(decidedBy.commit, o.commit).catch(() => false))) {
              r.since = o.firstSeen;
              break;
            }
          }
          if (!r.since && h.record.runAt) r.sinceAtLatest = h.record.runAt;
        }
      }
    }
    out.hosts.push(r);
  }
  return out;
}

/** The receipts as lines for people (`fail2git audit ADDRESS --hosts`). Pure. */
export function renderReceiptsText(r: Receipts): string {
  const what = r.status === 'banned' ? `banned by ${r.commit?.slice(0, 12)} (${r.commitTime})`
    : r.status === 'lifted' ? `lifted by ${r.commit?.slice(0, 12)} (${r.commitTime})`
    : r.status === 'expired' ? 'its ban has expired (every host drops it on its own)' : 'never banned';
  const rows = [['HOST', 'STATE', 'SINCE', 'APPLIED', 'LAG', 'NOTE'], ...r.hosts.map((h) => [
    h.host, h.state, h.since ?? (h.sinceAtLatest ? `<= ${h.sinceAtLatest}` : '-'), h.appliedCommit?.slice(0, 12) ?? '-',
    h.lagCommits === undefined ? '-' : String(h.lagCommits), h.detail ?? '',
  ].map(printable))];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((x) => x[i]!.length)));
  const lines = rows.map((x) => x.map((c, i) => (i === x.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd());
  return [`receipts: ${printable(r.query)} is ${what}`, ...lines].join('\n');
}
