/** The page's HTML from hostile status records, and the bans filters. Pure. */
import { describe, expect, it } from 'vitest';
import { renderPage, type PageModel } from '../../../controller/serve/page.js';
import { filterBans } from '../../../controller/serve/page-data.js';
import type { DesiredEntry } from '../../../controller/targets/types.js';

const NOW = new Date('2026-12-01T12:00:00Z');
const entries: DesiredEntry[] = [
  { cidr: '192.0.2.1', family: 4, jail: 'sshd', by: 'web1', expires: '2026-12-01T12:30:00Z' },
  { cidr: '203.0.113.0/24', family: 4, jail: 'nginx', by: 'web2', expires: '2026-12-02T12:00:00Z' },
  { cidr: '2001:db8::5', family: 6, by: 'alice' },
];

describe('the fleet page', () => {
  it('escapes everything a status record says, and holds no script', () => {
    const evil = '<script>alert(1)</script>';
    const model: PageModel = {
      host: 'serve1', now: NOW, served: { rev: 'b'.repeat(40), total: 3 }, filters: { address: '"><img src=x onerror=alert(1)>' }, bans: entries, matched: 3, chart: [],
      fleet: { silentAfterIntervals: 3, tip: 'b'.repeat(40), tipTime: '2026-12-01T11:00:00Z', hosts: [
        { host: 'web1', silent: false, lagCommits: 0, lagSeconds: 0, seenAgoSeconds: 5, record: { version: 1, host: 'web1', reason: evil, targets: { [evil]: { entries: 1, error: evil } }, lastError: evil, software: '', interval: '30s', seen: '' } },
        { host: 'bad', silent: true, problem: evil },
      ] },
    };
    const html = renderPage(model);
    expect(html).not.toMatch(/<script|<img/i);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('value="&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"');
  });

  it('filters bans by address (overlap), jail, banning host and expiry, all as GET parameters', () => {
    const cidrs = (f: Parameters<typeof filterBans>[1]) => filterBans(entries, f, NOW).rows.map((e) => e.cidr);
    expect(cidrs({ address: '203.0.113.77' })).toEqual(['203.0.113.0/24']);
    expect(cidrs({ address: '192.0.2.0/24' })).toEqual(['192.0.2.1']);
    expect(cidrs({ jail: 'SSHD' })).toEqual(['192.0.2.1']);
    expect(cidrs({ jail: 'manual' })).toEqual(['2001:db8::5']);
    expect(cidrs({ host: 'web2' })).toEqual(['203.0.113.0/24']);
    expect(cidrs({ expiring: '1h' })).toEqual(['192.0.2.1']);
    expect(filterBans(entries, { expiring: 'soon' }, NOW).error).toBe('"expiring within" "soon" is not a duration like 1h');
  });
});
