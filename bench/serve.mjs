// fail2git serve (issue 17): what a bouncer's pull and a page cost on a large ledger, from the
// code in dist/ (controller/serve/). In-process, no network: the HTTP layer adds little to it.
// `npm run bench -- serve`.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const N = Number(process.env.F2G_BENCH_SERVE_N ?? 100_000);

function entries(n, now) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const a = 10 + (i >> 16), b = (i >> 8) & 255, c = i & 255;
    out.push({ cidr: `${a}.${b}.${c}.1`, family: 4, jail: i % 3 ? 'sshd' : 'nginx', by: `web${i % 7}`, expires: new Date(now + 3_600_000 + i * 1000).toISOString() });
  }
  return out;
}

function time(fn, reps = 5) {
  const ms = [];
  let out;
  for (let i = 0; i < reps; i++) {
    const t = process.hrtime.bigint();
    out = fn();
    ms.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  ms.sort((x, y) => x - y);
  return { ms: ms[Math.floor(ms.length / 2)], out };
}

export async function run({ root }) {
  const imp = (p) => import(pathToFileURL(join(root, 'dist', p)).href);
  const { emptyState, streamDelta, wantedDecisions } = await imp('controller/serve/decisions.js');
  const { filterBans } = await imp('controller/serve/page-data.js');
  const { renderPage, MAX_ROWS } = await imp('controller/serve/page.js');
  const now = Date.now();
  const all = entries(N, now);
  const startup = time(() => {
    const r = streamDelta(emptyState(), wantedDecisions(all), new Date(now), true);
    return { r, json: JSON.stringify(r.response) };
  });
  const state = startup.out.r.state;
  // 100 unbans and 100 new bans since the last pull
  const changed = [...all.slice(100), ...entries(100, now).map((e, i) => ({ ...e, cidr: `192.0.${i >> 8}.${i & 255}` }))];
  const delta = time(() => JSON.stringify(streamDelta(state, wantedDecisions(changed), new Date(now + 10_000), false).response));
  const page = time(() => {
    const f = filterBans(all, { jail: 'sshd', expiring: '24h' }, new Date(now));
    return renderPage({ host: 'bench', now: new Date(now), served: { rev: 'a'.repeat(40), total: all.length }, filters: { jail: 'sshd' }, bans: f.rows.slice(0, MAX_ROWS), matched: f.rows.length, chart: [] });
  });
  return {
    section: `serve: ${N.toLocaleString('en')} bans`,
    rows: [
      { name: 'startup pull: decisions computed and serialized', value: startup.ms, unit: 'ms' },
      { name: 'startup pull: response size', value: startup.out.json.length / 2 ** 20, unit: 'MiB' },
      { name: 'delta pull (100 unbans, 100 bans)', value: delta.ms, unit: 'ms' },
      { name: 'delta pull: response size', value: delta.out.length / 1024, unit: 'KiB' },
      { name: 'fleet page: filter + render (500 rows shown)', value: page.ms, unit: 'ms' },
      { name: 'fleet page: size', value: page.out.length / 1024, unit: 'KiB' },
    ],
    notes: ['Median of 5. The delta is computed against the bouncer state the startup pull left.'],
  };
}
