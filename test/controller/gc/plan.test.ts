import { describe, it, expect, afterAll } from 'vitest';
import { join } from 'node:path';
import { gcCutoff, gcMessage, planGc } from '../../../controller/gc/plan.js';
import { graceFrom, hasCollectable, maybeRunGc } from '../../../controller/gc/run.js';
import { DEFAULT_POLICY } from '../../../controller/ledger/types.js';
import { git, makeLedgerRemote } from '../../helpers/git.js';
import { cleanupTmp, tmpDir } from '../../helpers/tmp.js';

afterAll(() => cleanupTmp());
import { parseTrailers } from '../../../controller/git/trailers.js';

const HEAD = '# header comment\napiVersion: fail2git/v1\nkind: BanList\nbans:\n';
const NOW = new Date('2026-11-25T12:00:00Z');
const HOUR = 3_600_000;

describe('planGc', () => {
  const text = HEAD + [
    '  - {cidr: 192.0.2.1, expires: 2026-11-25T10:00:00Z, at: 2026-11-25T09:00:00Z, by: web1, jail: sshd, count: 1}',
    '  - {cidr: 192.0.2.2, expires: 2026-11-25T11:30:00Z, by: web1}',
    '  - {cidr: 192.0.2.3, at: 2026-11-20T10:00:00Z, by: alice, reason: "expires: 2000-01-01T00:00:00Z"}',
    '  # a comment between entries stays',
    '  - {cidr: "2001:db8::1", expires: "2026-11-25T10:59:59Z", by: mail1}',
    '  - {cidr: 192.0.2.9, by: bob, expires: 2026-11-25T09:00:00Z}',
    '  - {cidr: 192.0.2.10, by: bob, expires: 2026-11-25T11:30:00Z}',
    '  - {cidr: 192.0.2.11, expires: [broken}',
  ].join('\n') + '\n';

  it('removes entries that expired more than the grace ago and keeps every other byte', () => {
    const plan = planGc(text, gcCutoff(NOW, HOUR));
    expect(plan.expired).toEqual([
      { cidr: '192.0.2.1', expires: '2026-11-25T10:00:00Z' },
      { cidr: '2001:db8::1', expires: '2026-11-25T10:59:59Z' },
      { cidr: '192.0.2.9', expires: '2026-11-25T09:00:00Z' },
    ]);
    const gone = ['192.0.2.1,', '2001:db8::1', '192.0.2.9,'];
    expect(plan.text).toBe(text.split('\n').filter((l) => !gone.some((g) => l.includes(g))).join('\n'));
  });

  it('keeps entries within the grace period, permanent ones, and reasons that merely mention expires', () => {
    const plan = planGc(text, gcCutoff(NOW, HOUR));
    expect(plan.text).toContain('192.0.2.2');
    expect(plan.text).toContain('192.0.2.3');
  });

  it('reads entries in another key order exactly, and never removes a line it cannot read', () => {
    const plan = planGc(text, gcCutoff(NOW, HOUR));
    expect(plan.text).toContain('192.0.2.10,');
    expect(plan.text).toContain('192.0.2.11,');
    expect(plan.unreadable).toBe(1);
  });

  it('leaves a valid empty list when everything expired', () => {
    const plan = planGc(HEAD + '  - {cidr: 192.0.2.1, expires: 2026-11-25T10:00:00Z}\n', gcCutoff(NOW, 0));
    expect(plan.text).toBe('# header comment\napiVersion: fail2git/v1\nkind: BanList\nbans: []\n');
  });

  it('compares at second precision exactly, for canonical and other time spellings', () => {
    const t = HEAD + [
      '  - {cidr: 192.0.2.1, expires: 2026-11-25T10:00:00Z}',
      '  - {cidr: 192.0.2.2, expires: 2026-11-25T10:00:01Z}',
      '  - {cidr: 192.0.2.3, expires: "2026-11-25T11:00:00+01:00"}',
      '  - {cidr: 192.0.2.4, expires: "2026-11-25T11:00:00.900+01:00"}',
    ].join('\n') + '\n';
    const plan = planGc(t, Date.parse('2026-11-25T10:00:00.500Z'));
    expect(plan.expired.map((e) => e.cidr)).toEqual(['192.0.2.1', '192.0.2.3']);
  });

  it('returns the text unchanged when nothing expired', () => {
    expect(planGc(text, gcCutoff(new Date('2026-01-01T00:00:00Z'), 0))).toEqual({ text, expired: [], unreadable: 1 });
  });
});

describe('gcMessage', () => {
  it('has the subject and one trailer block per removed entry, readable by audit', () => {
    const msg = gcMessage('web1', [{ cidr: '192.0.2.1', expires: '2026-11-25T10:00:00Z' }, { cidr: '192.0.2.7', expires: '2026-11-25T10:00:00Z' }], NOW);
    expect(msg.split('\n')[0]).toBe('gc: expire 2 bans');
    expect(parseTrailers(msg)).toEqual([
      { op: 'expire', fields: { cidr: '192.0.2.1', host: 'web1', expires: '2026-11-25T10:00:00Z' } },
      { op: 'expire', fields: { cidr: '192.0.2.7', host: 'web1', expires: '2026-11-25T10:00:00Z' } },
    ]);
    expect(gcMessage('web1', [{ cidr: '192.0.2.1', expires: 'x' }], NOW).split('\n')[0]).toBe('gc: expire 1 ban');
  });
});

describe('grace and collectability', () => {
  it('takes the grace from the flag, else the policy, else the default', () => {
    const policy = 'apiVersion: fail2git/v1\nkind: Policy\nspec:\n  gcGrace: 2h\n';
    expect(graceFrom(policy, 60_000)).toBe(60_000);
    expect(graceFrom(policy)).toBe(2 * HOUR);
    expect(graceFrom(null)).toBe(HOUR);
    expect(graceFrom('{{{ not yaml')).toBe(HOUR);
  });

  it('hasCollectable is true only when an entry expired before the cutoff', () => {
    expect(hasCollectable([{ cidr: '192.0.2.1', expires: '2026-11-25T10:30:00Z' }], NOW, HOUR)).toBe(true);
    expect(hasCollectable([{ cidr: '192.0.2.1', expires: '2026-11-25T11:30:00Z' }, { cidr: '192.0.2.2' }], NOW, HOUR)).toBe(false);
  });
});

describe('maybeRunGc (the policy names the host that runs gc after its reconcile)', () => {
  const bans = [{ cidr: '192.0.2.1', expires: '2026-11-25T10:00:00Z' }, { cidr: '192.0.2.2' }];
  const policy = { ...DEFAULT_POLICY, gcHost: 'web1' };

  it('runs gc only on the gcHost and only when something is collectable', async () => {
    const remote = makeLedgerRemote({
      'bans/active.yaml': HEAD + '  - {cidr: 192.0.2.1, expires: 2026-11-25T10:00:00Z}\n  - {cidr: 192.0.2.2}\n',
    });
    const head = remote.head();
    const cfg = (host: string) => ({ host, remote: remote.bare, branch: 'main', stateDir: join(tmpDir('f2g-gc'), host) });
    expect(await maybeRunGc(cfg('web2'), { bans, policy }, NOW)).toBeNull();
    expect(await maybeRunGc(cfg('web1'), { bans: [bans[1]!], policy }, NOW)).toBeNull();
    expect(await maybeRunGc(cfg('web1'), { bans, policy: DEFAULT_POLICY }, NOW)).toBeNull();
    expect(remote.head()).toBe(head);
    const result = await maybeRunGc(cfg('web1'), { bans, policy }, NOW);
    expect(result?.expired).toEqual([{ cidr: '192.0.2.1', expires: '2026-11-25T10:00:00Z' }]);
    expect(remote.head()).toBe(result!.commit);
    expect(git(remote.bare, 'show', 'main:bans/active.yaml')).not.toContain('192.0.2.1,');
  });

  it('does not touch the remote when nothing is collectable', async () => {
    const cfg = { host: 'web1', remote: '/nonexistent/ledger.git', branch: 'main', stateDir: tmpDir('f2g-gc') };
    await expect(maybeRunGc(cfg, { bans: [bans[1]!], policy }, NOW)).resolves.toBeNull();
    await expect(maybeRunGc(cfg, { bans, policy }, NOW)).rejects.toThrow(/cannot fetch main/);
  });
});
