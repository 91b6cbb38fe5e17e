import { describe, expect, it } from 'vitest';
import { MAX_DURATION_MS, REFRESH_BEFORE_MS, emptyState, filterWanted, goDuration, streamDelta, wantedDecisions } from '../../../controller/serve/decisions.js';
import type { DesiredEntry } from '../../../controller/targets/types.js';

const NOW = new Date('2026-12-01T12:00:00Z');
const at = (ms: number) => new Date(NOW.getTime() + ms);
const entry = (cidr: string, expiresInMs?: number, jail = 'sshd'): DesiredEntry => ({
  cidr, family: cidr.includes(':') ? 6 : 4, jail, ...(expiresInMs !== undefined && { expires: at(expiresInMs).toISOString() }),
});

describe('CrowdSec decisions from the served set', () => {
  it('an address is scope Ip, a network scope Range, type ban, with a duration counting down to the ledger expiry', () => {
    const w = wantedDecisions([entry('192.0.2.1', 3_600_000), entry('203.0.113.0/24', 7_200_000), entry('2001:db8::/48')]);
    const r = streamDelta(emptyState(), w, NOW, true);
    expect(r.response.deleted).toEqual([]);
    expect(r.response.new.map((d) => [d.scope, d.value, d.type, d.duration, d.origin, d.scenario])).toEqual([
      ['Ip', '192.0.2.1', 'ban', '1h0m0s', 'fail2git', 'fail2git/sshd'],
      ['Range', '203.0.113.0/24', 'ban', '2h0m0s', 'fail2git', 'fail2git/sshd'],
      ['Range', '2001:db8::/48', 'ban', `${MAX_DURATION_MS / 3_600_000}h0m0s`, 'fail2git', 'fail2git/sshd'],
    ]);
    const later = streamDelta(r.state, w, at(1500), false);
    expect(later.response).toEqual({ new: [], deleted: [] });
    expect(later.changed).toBe(false);
  });

  it('sends only what is new or deleted since this bouncer\'s last pull: unban, expiry, prolonging', () => {
    const first = streamDelta(emptyState(), wantedDecisions([entry('192.0.2.1', 60_000), entry('192.0.2.2', 3_600_000), entry('192.0.2.3', 3_600_000)]), NOW, true);
    const ids = Object.fromEntries(first.response.new.map((d) => [d.value, d.id]));
    // 192.0.2.1 expired, 192.0.2.2 unbanned, 192.0.2.3 prolonged, 192.0.2.4 new
    const next = streamDelta(first.state, wantedDecisions([entry('192.0.2.3', 7_200_000), entry('192.0.2.4', 3_600_000)]), at(120_000), false);
    expect(next.response.deleted.map((d) => [d.value, d.id])).toEqual([['192.0.2.1', ids['192.0.2.1']], ['192.0.2.2', ids['192.0.2.2']], ['192.0.2.3', ids['192.0.2.3']]]);
    expect(next.response.new.map((d) => [d.value, d.duration])).toEqual([['192.0.2.3', '1h58m0s'], ['192.0.2.4', '58m0s']]);
    expect(new Set([...next.response.new.map((d) => d.id), ...Object.values(ids)]).size).toBe(5);
  });

  it('a permanent ban is sent capped and sent again before the cap runs out', () => {
    const w = wantedDecisions([entry('192.0.2.9')]);
    const first = streamDelta(emptyState(), w, NOW, true);
    expect(streamDelta(first.state, w, at(MAX_DURATION_MS - REFRESH_BEFORE_MS - 1000), false).response.new).toEqual([]);
    const again = streamDelta(first.state, w, at(MAX_DURATION_MS - REFRESH_BEFORE_MS + 1000), false).response;
    expect(again.deleted.map((d) => d.value)).toEqual(['192.0.2.9']);
    expect(again.new.map((d) => d.value)).toEqual(['192.0.2.9']);
  });

  it('expandRanges sends a small Range as its addresses, keeps bigger ones a Range, and the longer of overlapping bans', () => {
    const w = wantedDecisions([entry('198.51.100.0/30', 60_000), entry('198.51.100.1', 600_000), entry('203.0.112.0/23', 60_000), entry('2001:db8::/126')], 256);
    expect([...w].map(([v, d]) => [v, d.scope, d.expires === 0 ? 0 : d.expires - NOW.getTime()])).toEqual([
      ['198.51.100.0', 'Ip', 60_000], ['198.51.100.1', 'Ip', 600_000], ['198.51.100.2', 'Ip', 60_000], ['198.51.100.3', 'Ip', 60_000],
      ['203.0.112.0/23', 'Range', 60_000],
      ['2001:db8::', 'Ip', 0], ['2001:db8::1', 'Ip', 0], ['2001:db8::2', 'Ip', 0], ['2001:db8::3', 'Ip', 0],
    ]);
  });

  it('a startup pull sends everything again and deletes what this bouncer holds but is no longer wanted', () => {
    const first = streamDelta(emptyState(), wantedDecisions([entry('192.0.2.1', 60_000), entry('192.0.2.2', 60_000)]), NOW, true);
    const restart = streamDelta(first.state, wantedDecisions([entry('192.0.2.2', 60_000)]), at(1000), true);
    expect(restart.response.new.map((d) => d.value)).toEqual(['192.0.2.2']);
    expect(restart.response.deleted.map((d) => d.value)).toEqual(['192.0.2.1']);
  });

  it('honours the filters a bouncer sends: scopes, origins, scenarios containing or not', () => {
    const w = wantedDecisions([entry('192.0.2.1', 60_000, 'sshd'), entry('203.0.113.0/24', 60_000, 'nginx')]);
    const values = (q: string) => [...filterWanted(w, new URLSearchParams(q)).keys()];
    expect(values('')).toEqual(['192.0.2.1', '203.0.113.0/24']);
    expect(values('scopes=ip')).toEqual(['192.0.2.1']);
    expect(values('scopes=Ip,Range')).toEqual(['192.0.2.1', '203.0.113.0/24']);
    expect(values('origins=crowdsec,cscli')).toEqual([]);
    expect(values('origins=fail2git')).toEqual(['192.0.2.1', '203.0.113.0/24']);
    expect(values('scenarios_containing=ssh')).toEqual(['192.0.2.1']);
    expect(values('scenarios_not_containing=ssh')).toEqual(['203.0.113.0/24']);
  });

  it('formats durations as Go does', () => {
    expect([0, 500, 1500, 61_000, 3_600_000, 90_061_250].map(goDuration)).toEqual(['0s', '500ms', '1.5s', '1m1s', '1h0m0s', '25h1m1.25s']);
  });
});
