/**
 * The fleet page: one self-contained HTML document (inline CSS and SVG, no script, nothing
 * fetched from anywhere), usable without JavaScript: filters are a GET form, an address's
 * receipts are a link. Pure. Every text that comes from a status ref, the ledger or the query
 * is escaped (status refs are written by anyone who can push); no secret is ever part of it.
 */
import { formatDuration, formatTime } from '../lib/duration.js';
import { printable } from '../lib/printable.js';
import { redact } from '../lib/errors.js';
import type { FleetView } from '../fleet/record.js';
import type { Receipts } from '../fleet/receipts.js';
import type { AuditEvent } from '../audit/timeline.js';
import type { HourBucket } from '../audit/per-hour.js';
import type { DesiredEntry } from '../targets/types.js';

export interface BanFilters {
  address?: string;
  jail?: string;
  host?: string;
  /** a duration text: only bans expiring within it */
  expiring?: string;
}

export interface PageModel {
  host: string;
  now: Date;
  served: { rev?: string; acceptedAt?: string; total: number };
  fleet?: FleetView;
  fleetError?: string;
  fleetReadAt?: string;
  filters: BanFilters;
  filterError?: string;
  bans: DesiredEntry[];
  /** how many bans matched the filters (bans holds at most the first MAX_ROWS) */
  matched: number;
  chart: HourBucket[];
  chartError?: string;
  detail?: { query: string; receipts?: Receipts; events?: AuditEvent[]; historyMissing?: string; error?: string };
}

export const MAX_ROWS = 500;

const esc = (v: unknown): string =>
  redact(printable(String(v ?? ''))).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const short = (rev?: string): string => (rev ? rev.slice(0, 12) : '—');
const ago = (iso: string | undefined, now: Date): string => {
  if (!iso) return '—';
  const ms = now.getTime() - Date.parse(iso);
  return Number.isFinite(ms) ? `${formatDuration(Math.max(0, ms))} ago` : '—';
};
const link = (params: Record<string, string | undefined>): string => {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '?';
};

const CSS = `
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5rem;color:#1d2330;background:#fafbfc}
h1{font-size:1.4rem;margin:0 0 .25rem}h2{font-size:1.1rem;margin:1.6rem 0 .5rem;border-bottom:1px solid #d8dde6;padding-bottom:.2rem}
table{border-collapse:collapse;width:100%;background:#fff}th,td{text-align:left;padding:.3rem .55rem;border-bottom:1px solid #e6e9ef;vertical-align:top}
th{background:#eef1f6;font-weight:600}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace}.muted{color:#67708a}.warn{color:#a4510b;font-weight:600}.bad{color:#b3261e;font-weight:600}.ok{color:#1e7b34;font-weight:600}
form{display:flex;gap:.6rem;flex-wrap:wrap;align-items:end;margin:.4rem 0 .8rem}label{display:flex;flex-direction:column;font-size:12px;color:#4b5468}
input,select{font:inherit;padding:.2rem .35rem}.summary{display:flex;gap:2rem;flex-wrap:wrap;margin:.5rem 0}.summary div{background:#fff;border:1px solid #e0e4ec;padding:.45rem .8rem;border-radius:4px}
.summary b{display:block;font-size:1.2rem}svg{background:#fff;border:1px solid #e0e4ec}`;

export function renderPage(m: PageModel): string {
  const hosts = m.fleet?.hosts ?? [];
  const lagging = hosts.filter((h) => (h.lagCommits ?? 0) > 0).length;
  const silent = hosts.filter((h) => h.silent).length;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>fail2git fleet — ${esc(m.host)}</title><style>${CSS}</style></head>
<body>
<h1>fail2git fleet</h1>
<p class="muted">Served by <b>${esc(m.host)}</b> from its last good commit <code id="served-rev">${esc(short(m.served.rev))}</code>${m.served.acceptedAt ? ` (accepted ${esc(m.served.acceptedAt)})` : ''}; read-only; page generated ${esc(formatTime(m.now))}.</p>
<div class="summary">
<div><b id="count-bans">${m.served.total}</b>bans enforceable</div>
<div><b id="count-hosts">${hosts.length}</b>hosts</div>
<div><b id="count-lagging" class="${lagging ? 'warn' : ''}">${lagging}</b>behind the tip</div>
<div><b id="count-silent" class="${silent ? 'bad' : ''}">${silent}</b>silent</div>
</div>
${hostsSection(m)}
${m.detail ? detailSection(m) : ''}
${chartSection(m)}
${bansSection(m)}
</body></html>
`;
}

function hostsSection(m: PageModel): string {
  const v = m.fleet;
  const head = `<h2 id="hosts">Hosts</h2>`;
  if (!v) return `${head}<p class="bad">The fleet's status records cannot be read: ${esc(m.fleetError ?? 'not read yet')}</p>`;
  const note = `<p class="muted">Tip <code>${esc(short(v.tip))}</code> (${esc(v.tipTime)}); records read ${esc(m.fleetReadAt ?? '')}${m.fleetError ? ` <span class="warn">(last refresh failed: ${esc(m.fleetError)})</span>` : ''}.</p>`;
  const rows = v.hosts.map((h) => {
    const r = h.record;
    if (!r) return `<tr data-host="${esc(h.host)}"><td>${esc(h.host)}</td><td colspan="7" class="bad">invalid status record: ${esc(h.problem ?? '')}</td></tr>`;
    const lag = h.lagCommits === undefined ? '<span class="muted">unknown</span>' : h.lagCommits === 0 ? '<span class="ok">up to date</span>' : `<span class="warn">${h.lagCommits} commit${h.lagCommits === 1 ? '' : 's'}</span>`;
    const lagTime = h.lagSeconds === undefined ? '—' : h.lagSeconds === 0 ? '0s' : formatDuration(h.lagSeconds * 1000);
    const seen = h.seenAgoSeconds === undefined ? 'never' : `${formatDuration(h.seenAgoSeconds * 1000)} ago`;
    const targets = Object.entries(r.targets).map(([n, t]) => `${esc(n)}: ${t.entries}${t.error ? ` <span class="bad">(${esc(t.error)})</span>` : ''}`).join('<br>') || '<span class="muted">none</span>';
    return `<tr data-host="${esc(h.host)}"><td>${esc(h.host)}</td><td><code class="applied">${esc(short(r.appliedCommit))}</code></td>` +
      `<td class="lag">${lag}</td><td class="lag-time num">${esc(lagTime)}</td><td class="${h.silent ? 'bad' : ''}">${esc(seen)}${h.silent ? ' (silent)' : ''}</td>` +
      `<td class="reason">${esc(r.reason ?? '—')}</td><td class="targets">${targets}</td><td>${esc(r.lastError ?? '')}</td></tr>`;
  });
  return `${head}${note}<table id="hosts-table"><thead><tr><th>Host</th><th>Applied commit</th><th>Lag (commits)</th><th class="num">Lag (time)</th><th>Last record</th><th>Last run</th><th>Targets (entries)</th><th>Last error</th></tr></thead>
<tbody>${rows.join('\n') || '<tr><td colspan="8" class="muted">no host has published a status record</td></tr>'}</tbody></table>`;
}

function bansSection(m: PageModel): string {
  const f = m.filters;
  const form = `<form method="get" action="" id="filters">
<label>Address or CIDR<input name="address" value="${esc(f.address ?? '')}" placeholder="203.0.113.7"></label>
<label>Jail<input name="jail" value="${esc(f.jail ?? '')}" placeholder="sshd"></label>
<label>Banned by host<input name="host" value="${esc(f.host ?? '')}" placeholder="web1"></label>
<label>Expiring within<select name="expiring">${['', '1h', '6h', '24h', '7d'].map((d) => `<option value="${d}"${f.expiring === d ? ' selected' : ''}>${d || 'any time'}</option>`).join('')}</select></label>
<button type="submit">Filter</button> <a href="?">clear</a></form>`;
  const rows = m.bans.map((b) => {
    const left = b.expires ? Date.parse(b.expires) - m.now.getTime() : undefined;
    return `<tr data-cidr="${esc(b.cidr)}"><td><a href="${esc(link({ address: b.cidr }))}#receipts"><code>${esc(b.cidr)}</code></a></td><td>${esc(b.jail ?? 'manual')}</td><td>${esc(b.by ?? '')}</td>` +
      `<td>${esc(b.at ?? '')}</td><td>${esc(b.expires ?? 'permanent')}</td><td class="num">${left === undefined ? '∞' : esc(formatDuration(left))}</td></tr>`;
  });
  const more = m.matched > m.bans.length ? `<p class="muted">${m.matched - m.bans.length} more not shown: narrow the filters.</p>` : '';
  return `<h2 id="bans">Bans (${m.matched} of ${m.served.total})</h2>${form}${m.filterError ? `<p class="bad">${esc(m.filterError)}</p>` : ''}
<table id="bans-table"><thead><tr><th>Address</th><th>Jail</th><th>By</th><th>Banned at</th><th>Expires</th><th class="num">Left</th></tr></thead>
<tbody>${rows.join('\n') || '<tr><td colspan="6" class="muted">no ban matches</td></tr>'}</tbody></table>${more}`;
}

function detailSection(m: PageModel): string {
  const d = m.detail!;
  const head = `<h2 id="receipts">Receipts for <code>${esc(d.query)}</code></h2>`;
  if (d.error) return `${head}<p class="bad">${esc(d.error)}</p>`;
  const r = d.receipts;
  let body = '';
  if (r) {
    const what = r.status === 'banned' ? `banned by commit <code>${esc(short(r.commit))}</code> (${esc(r.commitTime ?? '')})`
      : r.status === 'lifted' ? `lifted by commit <code>${esc(short(r.commit))}</code> (${esc(r.commitTime ?? '')})`
      : r.status === 'expired' ? 'its ban has expired: every host drops it on its own' : 'never banned in the history read';
    body += `<p id="receipt-status" data-status="${esc(r.status)}">${esc(d.query)} is ${what}.</p>`;
    const rows = r.hosts.map((h) => {
      const cls = h.state === 'enforced' || h.state === 'lifted' ? 'ok' : h.state === 'unknown' || h.state === 'expired' ? 'muted' : 'warn';
      const since = h.since ? esc(h.since) : h.sinceAtLatest ? `at the latest ${esc(h.sinceAtLatest)}` : '—';
      return `<tr data-host="${esc(h.host)}"><td>${esc(h.host)}</td><td class="state ${cls}">${esc(h.state)}</td><td class="since">${since}</td><td><code>${esc(short(h.appliedCommit))}</code></td><td class="num">${h.lagCommits ?? '—'}</td><td>${esc(h.detail ?? '')}</td></tr>`;
    });
    body += `<table id="receipts-table"><thead><tr><th>Host</th><th>State</th><th>Since</th><th>Applied commit</th><th class="num">Lag</th><th>Note</th></tr></thead><tbody>${rows.join('\n') || '<tr><td colspan="6" class="muted">no hosts</td></tr>'}</tbody></table>`;
  }
  const events = d.events ?? [];
  const ev = events.map((e) => `<tr><td>${esc(e.time)}</td><td>${esc(e.action)}</td><td><code>${esc(e.cidr)}</code>${e.relation === 'exact' ? '' : ` <span class="muted">(${esc(e.relation)})</span>`}</td><td>${esc(e.actor)} <span class="muted">(${esc(e.via)}${e.jail ? ` ${esc(e.jail)}` : ''})</span></td><td>${esc([e.ttl ? `ttl ${e.ttl}` : '', e.expires ? `until ${e.expires}` : '', e.count !== undefined ? `count ${e.count}` : '', e.reason ? `reason ${e.reason}` : '', e.detail ?? ''].filter(Boolean).join(', '))}</td><td><code>${esc(short(e.commit))}</code></td></tr>`);
  body += `<h2 id="timeline">Audit timeline of <code>${esc(d.query)}</code></h2>${d.historyMissing ? `<p class="warn">${esc(d.historyMissing)}</p>` : ''}<table id="timeline-table"><thead><tr><th>Time</th><th>Action</th><th>What</th><th>Actor</th><th>Details</th><th>Commit</th></tr></thead><tbody>${ev.join('\n') || '<tr><td colspan="6" class="muted">no events</td></tr>'}</tbody></table>`;
  return head + body;
}

function chartSection(m: PageModel): string {
  const head = `<h2 id="history">Bans and unbans per hour</h2>`;
  if (m.chartError) return `${head}<p class="bad">${esc(m.chartError)}</p>`;
  const b = m.chart;
  if (b.length === 0) return head;
  const W = 900, H = 170, pad = 28, slot = (W - pad - 8) / b.length, bar = Math.max(1, slot / 2 - 0.5);
  const max = Math.max(1, ...b.map((x) => Math.max(x.bans, x.unbans + x.expired)));
  const y = (n: number) => H - pad - (n / max) * (H - pad - 10);
  const bars = b.map((x, i) => {
    const x0 = pad + i * slot;
    const hour = formatTime(new Date(x.start)).slice(0, 13) + ':00Z';
    const t = `<title>${hour}: ${x.bans} bans, ${x.unbans} unbans, ${x.expired} expired</title>`;
    return `<g>${t}${x.bans ? `<rect class="ban" x="${x0.toFixed(1)}" y="${y(x.bans).toFixed(1)}" width="${bar.toFixed(1)}" height="${(H - pad - y(x.bans)).toFixed(1)}" fill="#c0392b"/>` : ''}` +
      `${x.unbans + x.expired ? `<rect class="unban" x="${(x0 + bar).toFixed(1)}" y="${y(x.unbans + x.expired).toFixed(1)}" width="${bar.toFixed(1)}" height="${(H - pad - y(x.unbans + x.expired)).toFixed(1)}" fill="#2e8b57"/>` : ''}</g>`;
  });
  const days = b.filter((x) => new Date(x.start).getUTCHours() === 0).map((x) => {
    const i = b.indexOf(x);
    const x0 = pad + i * slot;
    return `<line x1="${x0.toFixed(1)}" y1="8" x2="${x0.toFixed(1)}" y2="${H - pad}" stroke="#d8dde6"/><text x="${(x0 + 2).toFixed(1)}" y="${H - 10}" font-size="11" fill="#67708a">${formatTime(new Date(x.start)).slice(5, 10)}</text>`;
  });
  const sum = (k: 'bans' | 'unbans' | 'expired') => b.reduce((a, x) => a + x[k], 0);
  return `${head}<p class="muted">Last ${b.length} hours from the ledger's history (commit trailers): <span style="color:#c0392b">■</span> ${sum('bans')} bans and prolongings, <span style="color:#2e8b57">■</span> ${sum('unbans')} unbans and ${sum('expired')} expired entries removed. Peak ${max} per hour.</p>
<svg id="chart" role="img" aria-label="bans and unbans per hour" viewBox="0 0 ${W} ${H}" width="100%" height="${H}" xmlns="http://www.w3.org/2000/svg">
<text x="2" y="14" font-size="11" fill="#67708a">${max}</text><line x1="${pad}" y1="${H - pad}" x2="${W - 8}" y2="${H - pad}" stroke="#9aa3b5"/>
${days.join('')}${bars.join('')}</svg>`;
}
