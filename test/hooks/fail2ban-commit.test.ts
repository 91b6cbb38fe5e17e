import { describe, it, expect } from 'vitest';
import { rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { decide, parseHookArgs, watcherStarting } from '../../hooks/fail2ban-commit.js';
import { tmpDir } from '../helpers/tmp.js';
import { parseCidr } from '../../controller/net/cidr.js';
import type { Guard } from '../../hooks/guard-cache.js';

const guard: Guard = { allow: [parseCidr('192.0.2.0/28'), parseCidr('2001:db8:1::1')], broadestPrefix: { ipv4: 8, ipv6: 32 }, banPrefix: { ipv4: 32, ipv6: 64 }, fromLedger: true };
const T = 1_795_600_000; // seconds
const NOW = T * 1000 + 5_000;

function args(action: string, extra: Record<string, string> = {}) {
  return parseHookArgs(action, { jail: 'sshd', ip: '203.0.113.7', bantime: '600', time: String(T), ...extra });
}

describe('parseHookArgs', () => {
  it('accepts fail2ban tags, including a fractional time and empty optional counters', () => {
    expect(parseHookArgs('ban', { jail: 'sshd', ip: '::ffff:203.0.113.7', bantime: '-1', time: '1795600000.25', restored: '0', bancount: '', failures: '3' }))
      .toEqual({ action: 'ban', jail: 'sshd', ip: '203.0.113.7', bantime: -1, time: 1795600000.25, restored: false, failures: 3 });
  });

  it('accepts every number fail2ban prints: floats of any precision, exponents, -1.0', () => {
    const p = (bantime: string, time: string) => parseHookArgs('ban', { jail: 'sshd', ip: '203.0.113.7', bantime, time }, NOW);
    expect(p('600', '1795600000.1234567891').time).toBeCloseTo(1795600000.1234567, 5);
    expect(p('1.2e3', '1.7956e9').bantime).toBe(1200);
    expect(p('-1.0', String(T)).bantime).toBe(-1);
    expect(p('600.6', String(T)).bantime).toBe(601);
    expect(p('999999999999', String(T)).bantime).toBe(999999999999);
  });

  it('empty optional tags are absent, not errors', () => {
    expect(parseHookArgs('ban', { jail: 'sshd', ip: '203.0.113.7', bantime: '60', time: String(T), restored: '', bancount: '', failures: '' }, NOW))
      .toEqual({ action: 'ban', jail: 'sshd', ip: '203.0.113.7', bantime: 60, time: T, restored: false });
  });

  it('refuses a --time more than the allowed skew ahead of the clock, and one past any date', () => {
    const p = (time: string) => parseHookArgs('ban', { jail: 'sshd', ip: '203.0.113.7', bantime: '600', time }, NOW);
    expect(p(String(NOW / 1000 + 60)).time).toBe(NOW / 1000 + 60);
    expect(() => p(String(NOW / 1000 + 3600))).toThrow(/ahead of this host's clock/);
    expect(() => p('9999999999999')).toThrow(/ahead of this host's clock/);
    expect(() => p('1e400')).toThrow(/not a number/);
  });

  it.each([
    [{ ip: '999.1.1.1' }, /not an IP address/],
    [{ ip: '1.2.3.4; rm -rf /' }, /not an IP address/],
    [{ ip: '' }, /not an IP address/],
    [{ ip: 'host.example' }, /not an IP address/],
    [{ ip: '0.0.0.0/0' }, /zero-length prefix/],
    [{ jail: 'a b' }, /not a jail name/],
    [{ bantime: '0' }, /positive seconds or -1/],
    [{ bantime: '10m' }, /not a number/],
    [{ time: '-5' }, /seconds since the epoch/],
    [{ restored: 'true' }, /0 or 1/],
    [{ bancount: '-1' }, /not a count/],
    [{ bantime: '' }, /--bantime is required/],
    [{ bantime: '1e' }, /not a number/],
  ])('refuses %j', (bad, why) => {
    expect(() => parseHookArgs('ban', { jail: 'sshd', ip: '203.0.113.7', bantime: '600', time: String(T), ...bad }, NOW)).toThrow(why);
  });

  it('refuses an unknown action and missing flags', () => {
    expect(() => parseHookArgs('flushall', { jail: 'sshd', ip: '1.2.3.4', bantime: '1', time: '1' })).toThrow(/ban, unban, prolong, ignore or flush/);
    expect(() => parseHookArgs('ban', { jail: 'sshd', ip: '1.2.3.4', time: '1' })).toThrow(/--bantime is required/);
  });
});

describe('decide', () => {
  it('a ban spools an escalating operation stamped with fail2ban\'s time', () => {
    const d = decide(args('ban'), guard, 'web1', NOW, 'id1');
    expect(d).toMatchObject({ kind: 'spool', op: { op: 'ban', cidr: '203.0.113.7', at: '2026-11-25T09:46:40Z', ttl: 600, escalate: true, widen: true, by: 'web1', jail: 'sshd' } });
  });

  it('restored bans and prolongs are skipped; a restored unban is still an unban', () => {
    expect(decide(args('ban', { restored: '1' }), guard, 'web1', NOW, 'id').kind).toBe('skip');
    expect(decide(args('prolong', { restored: '1' }), guard, 'web1', NOW, 'id').kind).toBe('skip');
    expect(decide(args('unban', { restored: '1' }), guard, 'web1', NOW, 'id').kind).toBe('spool');
  });

  it("an unban carries the time it was asked, not fail2ban's <time> (the ban's)", () => {
    const d = decide(args('unban', { bantime: '-1' }), guard, 'web1', NOW, 'id');
    expect(d).toMatchObject({ kind: 'spool', op: { op: 'unban', at: new Date(NOW).toISOString().replace(/\.\d{3}Z$/, 'Z') } });
    expect(d.kind === 'spool' && d.op.at).not.toBe('2026-11-25T09:46:40Z');
  });

  it('unban at natural expiry is skipped; before it, or of a permanent ban, is spooled', () => {
    expect(decide(args('unban', { bantime: '5' }), guard, 'web1', NOW, 'id').kind).toBe('skip');
    expect(decide(args('unban', { bantime: '600' }), guard, 'web1', NOW, 'id').kind).toBe('spool');
    expect(decide(args('unban', { bantime: '-1' }), guard, 'web1', NOW, 'id').kind).toBe('spool');
  });

  it('refuses allowlisted addresses, also when widening to banPrefix reaches an allow entry', () => {
    expect(decide(args('ban', { ip: '192.0.2.9' }), guard, 'web1', NOW, 'id')).toMatchObject({ kind: 'refuse', why: expect.stringMatching(/allowlisted/) });
    // 2001:db8:1::99 widens to 2001:db8:1::/64, which holds the allowlisted 2001:db8:1::1
    expect(decide(args('ban', { ip: '2001:db8:1::99' }), guard, 'web1', NOW, 'id').kind).toBe('refuse');
    expect(decide(args('ban', { ip: '10.0.0.0/7' }), guard, 'web1', NOW, 'id')).toMatchObject({ kind: 'refuse', why: expect.stringMatching(/broader/) });
  });
});

describe('watcherStarting', () => {
  it('is true only while stateDir/watch.start names a live process', () => {
    const dir = tmpDir('f2g-wstart');
    try {
      expect(watcherStarting(dir)).toBe(false);
      writeFileSync(join(dir, 'watch.start'), `${process.pid}\n`);
      expect(watcherStarting(dir)).toBe(true);
      const gone = spawnSync('true').pid!;
      writeFileSync(join(dir, 'watch.start'), `${gone}\n`);
      expect(watcherStarting(dir)).toBe(false);
      writeFileSync(join(dir, 'watch.start'), 'garbage\n');
      expect(watcherStarting(dir)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
