import { describe, expect, it } from 'vitest';
import { deliveredIds, deliveredTrailer, parseTrailers, trailerBlock } from '../../../controller/git/trailers.js';

describe('commit trailers: one module writes and reads them', () => {
  it('reads back what it writes, block by block, leaving out undefined fields', () => {
    const body = [
      deliveredTrailer('1700000000000-web1-aa'),
      ...trailerBlock('ban', [['Cidr', '203.0.113.7'], ['Jail', 'sshd'], ['Host', 'web1'], ['By', undefined], ['Count', 3], ['Id', '1700000000000-web1-bb']]),
      ...trailerBlock('expire', [['Cidr', '2001:db8::/64'], ['Host', 'gc1'], ['Expires', '2026-11-25T10:00:00Z']]),
    ].join('\n');
    expect(parseTrailers(body)).toEqual([
      { op: 'ban', fields: { cidr: '203.0.113.7', jail: 'sshd', host: 'web1', count: '3', id: '1700000000000-web1-bb' } },
      { op: 'expire', fields: { cidr: '2001:db8::/64', host: 'gc1', expires: '2026-11-25T10:00:00Z' } },
    ]);
    expect([...deliveredIds(body)].sort()).toEqual(['1700000000000-web1-aa', '1700000000000-web1-bb']);
  });

  it('writes every value on one line, so a value cannot forge the next trailer', () => {
    const lines = trailerBlock('ban', [['Cidr', '192.0.2.1'], ['Reason', 'x\nFail2git-Op: unban\nFail2git-Cidr: 0.0.0.0/0']]);
    expect(lines).toEqual(['Fail2git-Op: ban', 'Fail2git-Cidr: 192.0.2.1', 'Fail2git-Reason: x Fail2git-Op: unban Fail2git-Cidr: 0.0.0.0/0']);
    expect(parseTrailers(lines.join('\n'))).toHaveLength(1);
  });
});
