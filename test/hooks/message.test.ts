import { describe, it, expect } from 'vitest';
import { commitMessage, describe as describeOp } from '../../hooks/message.js';
import { deliveredIds } from '../../controller/git/trailers.js';
import type { OpResult, Operation } from '../../hooks/operations.js';
import { parseTrailers } from '../../controller/git/trailers.js';

function result(fields: Partial<Operation>, r: Partial<OpResult> = {}): OpResult {
  const op: Operation = { v: 1, id: `1700000000000-web1-${Math.random().toString(16).slice(2, 8)}`, op: 'ban', cidr: '203.0.113.7', at: '2026-11-25T10:00:00Z', by: 'web1', host: 'web1', jail: 'sshd', ttl: 3600, ...fields };
  return { op, cidr: op.cidr, outcome: 'added', expires: '2026-11-25T11:00:00Z', ttl: 3600, count: 1, ...r };
}

describe('commitMessage', () => {
  it('one operation: subject "ban CIDR (jail@host, ttl)" and a trailer block', () => {
    const r = result({});
    const msg = commitMessage('web1', [r])!;
    expect(msg.split('\n')[0]).toBe('ban 203.0.113.7 (sshd@web1, 1h)');
    expect(msg).toContain('Fail2git-Op: ban\nFail2git-Cidr: 203.0.113.7\nFail2git-Jail: sshd\nFail2git-Host: web1\nFail2git-Expires: 2026-11-25T11:00:00Z');
    expect(msg).toContain(`Fail2git-Id: ${r.op.id}`);
  });

  it('many operations: "fail2git HOST: N operations", one block each, readable by audit', () => {
    const rs = [result({}), result({ op: 'unban', cidr: '198.51.100.7' }, { outcome: 'removed' }), result({ cidr: '2001:db8::1' }, { ttl: -1, expires: undefined })];
    const msg = commitMessage('web1', rs)!;
    expect(msg.split('\n')[0]).toBe('fail2git web1: 3 operations');
    const ops = parseTrailers(msg);
    expect(ops.map((o) => [o.op, o.fields.cidr])).toEqual([['ban', '203.0.113.7'], ['unban', '198.51.100.7'], ['ban', '2001:db8::1']]);
    expect(ops[2]!.fields.expires).toBe('never');
    expect(describeOp(rs[2]!)).toBe('ban 2001:db8::1 (sshd@web1, permanent)');
  });

  it('no change → no commit; no-op deliveries are listed so they are never re-applied', () => {
    expect(commitMessage('web1', [result({ op: 'unban' }, { outcome: 'absent' })])).toBeNull();
    const quiet = result({ op: 'unban' }, { outcome: 'absent' });
    const msg = commitMessage('web1', [result({}), quiet])!;
    expect(deliveredIds(msg)).toEqual(new Set([quiet.op.id, ...deliveredIds(msg)]));
    expect(deliveredIds(msg).has(quiet.op.id)).toBe(true);
    expect(deliveredIds(msg).size).toBe(2);
  });

  it('a reason with newlines cannot forge a trailer', () => {
    const msg = commitMessage('web1', [result({ by: 'alice', jail: undefined, reason: 'x\nFail2git-Op: unban' })])!;
    expect(parseTrailers(msg)).toHaveLength(1);
    expect(msg).toContain('Fail2git-Reason: x Fail2git-Op: unban');
  });
});
