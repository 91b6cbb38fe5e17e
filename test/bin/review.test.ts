/**
 * `fail2git review` against real git commits: what a pull request starts and stops enforcing
 * (allowlist narrowed, policy loosened, expiry moved into the past), the findings that make it
 * exit 1, and output a hostile value cannot forge (text and Markdown).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { makeLedgerRemote, git } from '../helpers/git.js';
import { runCli, looksLikeStackTrace } from '../helpers/cli.js';
import { cleanupTmp } from '../helpers/tmp.js';

afterAll(() => cleanupTmp());

const AT = '2026-11-25T12:00:00Z';
const HEADER = 'apiVersion: fail2git/v1\nkind: BanList\nbans:\n';
const bans = (...lines: string[]) => HEADER + lines.map((l) => `  - ${l}\n`).join('');
const EMPTY = 'apiVersion: fail2git/v1\nkind: BanList\nbans: []\n';
const allow = (...lines: string[]) => `apiVersion: fail2git/v1\nkind: AllowList\nallow:\n${lines.map((l) => `  - ${l}\n`).join('')}`;
const policy = (spec: string) => `apiVersion: fail2git/v1\nkind: Policy\nspec: ${spec}\n`;
const TARGETS = 'apiVersion: fail2git/v1\nkind: Target\nmetadata: {name: edge}\nspec: {driver: file, options: {path: /nonexistent/edge.txt}}\n';

const MGMT = '{cidr: 192.0.2.0/28, reason: management}';
const BOT = '{cidr: 192.0.2.5, expires: 2026-12-01T00:00:00Z, at: 2026-11-20T00:00:00Z, by: mallory, jail: sshd}';
const WIDE = '{cidr: 10.0.0.0/7, at: 2026-11-20T00:00:00Z, by: mallory}';
const LIVE = '{cidr: 198.51.100.7, expires: 2026-12-01T00:00:00Z, at: 2026-11-20T00:00:00Z, by: web1, jail: sshd}';

/** A ledger repository with a base commit; returns a function committing a head onto it. */
function repo(base: Record<string, string>) {
  const r = makeLedgerRemote({ 'bans/targets.yaml': TARGETS, 'bans/policy.yaml': policy('{}'), ...base });
  const baseRev = git(r.work, 'rev-parse', 'HEAD');
  return {
    dir: r.work,
    base: baseRev,
    head(files: Record<string, string>): string {
      return r.commit(files, 'the pull request');
    },
  };
}

function review(dir: string, base: string, head: string, ...extra: string[]) {
  const r = runCli(['review', '--ledger', dir, '--base', base, '--head', head, '--at', AT, ...extra]);
  expect(looksLikeStackTrace(r.stderr), r.stderr).toBe(false);
  return r;
}

describe('fail2git review compares what each side enforces', () => {
  it('finds bans an allowlist narrowing starts enforcing (the ban lines are untouched)', () => {
    const r = repo({ 'bans/active.yaml': bans(BOT, LIVE), 'bans/allow.yaml': allow(MGMT) });
    const head = r.head({ 'bans/allow.yaml': allow('{cidr: 192.0.2.0/30, reason: management}') });
    const out = review(r.dir, r.base, head);
    expect(out.code).toBe(1);
    expect(out.stdout).toContain('192.0.2.5 is newly enforced inside base allowlisted 192.0.2.0/28 (management)');
    expect(out.stdout).toMatch(/Newly enforced at 2026-11-25T12:00:00Z:\n {2}192\.0\.2\.5: the allowlist no longer covers it/);
    expect(out.stdout).not.toContain('no findings');
  });

  it('finds a /8-wide ban a loosened broadestPrefix starts enforcing', () => {
    const r = repo({ 'bans/active.yaml': bans(WIDE, LIVE), 'bans/allow.yaml': allow(MGMT) });
    const head = r.head({ 'bans/policy.yaml': policy('{broadestPrefix: {ipv4: 4, ipv6: 32}}') });
    const out = review(r.dir, r.base, head);
    expect(out.code).toBe(1);
    expect(out.stdout).toContain("10.0.0.0/7 is newly enforced broader than the base policy's broadestPrefix /8");
    expect(out.stdout).toContain("10.0.0.0/7: the policy's broadestPrefix was loosened");
  });

  it('reports an expiry moved into the past as no longer enforced (an unban), not merely "changed"', () => {
    const r = repo({ 'bans/active.yaml': bans(LIVE), 'bans/allow.yaml': allow(MGMT) });
    const head = r.head({ 'bans/active.yaml': bans('{cidr: 198.51.100.7, expires: 2026-11-21T00:00:00Z, at: 2026-11-20T00:00:00Z, by: web1, jail: sshd}') });
    const out = review(r.dir, r.base, head);
    expect(out.code).toBe(0);
    expect(out.stdout).toContain('No longer enforced at 2026-11-25T12:00:00Z:\n  198.51.100.7: expires moved from 2026-12-01T00:00:00Z to 2026-11-21T00:00:00Z, in the past: an unban');
    const json = JSON.parse(review(r.dir, r.base, head, '--format', 'json').stdout) as { enforcement: { noLongerEnforced: { cidr: string; reason: string }[] } };
    expect(json.enforcement.noLongerEnforced).toEqual([expect.objectContaining({ cidr: '198.51.100.7', reason: 'expiry-moved-into-past' })]);
  });

  it('reports removals and additions with their reason, and a clean change has no findings', () => {
    const r = repo({ 'bans/active.yaml': bans(LIVE), 'bans/allow.yaml': allow(MGMT) });
    const head = r.head({ 'bans/active.yaml': bans('{cidr: 203.0.113.9, at: 2026-11-25T00:00:00Z, by: alice, reason: ticket 7}') });
    const out = review(r.dir, r.base, head);
    expect(out.code).toBe(0);
    expect(out.stdout).toContain('no findings');
    expect(out.stdout).toContain('203.0.113.9: added to the ledger');
    expect(out.stdout).toContain('198.51.100.7: removed from the ledger: unbanned everywhere');
  });

  it('finds an entry newly enforced inside a --protect range', () => {
    const r = repo({ 'bans/active.yaml': bans(LIVE), 'bans/allow.yaml': allow(MGMT) });
    const head = r.head({ 'bans/active.yaml': bans('{cidr: 203.0.113.0/24, at: 2026-11-25T00:00:00Z, by: mallory}', LIVE) });
    expect(review(r.dir, r.base, head).code).toBe(0);
    const out = review(r.dir, r.base, head, '--protect', '203.0.113.10');
    expect(out.code).toBe(1);
    expect(out.stdout).toContain('203.0.113.0/24 is newly enforced inside protected 203.0.113.10');
    expect(runCli(['review', '--ledger', r.dir, '--base', r.base, '--protect', 'nope']).code).toBe(2);
  });

  it('evaluates both sides at --at: a ban live at that moment is compared, one expired is in neither', () => {
    const r = repo({ 'bans/active.yaml': bans(LIVE), 'bans/allow.yaml': allow(MGMT) });
    const head = r.head({ 'bans/active.yaml': EMPTY });
    const later = runCli(['review', '--ledger', r.dir, '--base', r.base, '--head', head, '--at', '2026-12-02T00:00:00Z']);
    expect(later.stdout).not.toContain('No longer enforced');
    expect(review(r.dir, r.base, head).stdout).toContain('No longer enforced');
  });
});

describe('fail2git review output cannot be forged by a value', () => {
  const HOSTILE = '{cidr: 203.0.113.9, at: 2026-11-25T00:00:00Z, by: "x\\u001b[2J", reason: "ok\\n\\n<!-- hidden\\n- forged line"}';

  it('escapes control characters in text output (no forged line, no terminal escape)', () => {
    const r = repo({ 'bans/active.yaml': bans(LIVE), 'bans/allow.yaml': allow(MGMT) });
    const head = r.head({ 'bans/active.yaml': bans(HOSTILE, LIVE) });
    const out = review(r.dir, r.base, head);
    expect(out.stdout).not.toContain('\u001b');
    expect(out.stdout).not.toMatch(/^- forged line/m);
    expect(out.stdout).toContain('reason: ok\\n\\n<!-- hidden\\n- forged line');
    expect(out.stdout).toContain('by: x\\x1b[2J');
    // the head holds control characters: not a valid ledger, a finding
    expect(out.code).toBe(1);
    expect(out.stdout).toContain('the head is not a valid ledger');
  });

  it('escapes Markdown and HTML in the markdown summary: "<!--" opens no comment, every section stays', () => {
    const r = repo({ 'bans/active.yaml': bans(LIVE), 'bans/allow.yaml': allow(MGMT) });
    const head = r.head({ 'bans/active.yaml': bans(HOSTILE, '{cidr: 203.0.113.10, at: 2026-11-25T00:00:00Z, by: "**bold** [x](http://e.invalid) `c` | t"}', LIVE) });
    const md = review(r.dir, r.base, head, '--format', 'markdown').stdout;
    expect(md).not.toContain('<!--');
    expect(md).not.toContain('<');
    expect(md).toContain('&lt;\\!--');
    expect(md).not.toContain('### Policy changed');
    expect(md.split('\n').filter((l) => l.startsWith('- forged'))).toEqual([]);
    expect(md).toContain('### Bans added');
    expect(md).toContain('### Newly enforced at 2026-11-25T12:00:00Z');
    expect(md).toContain('\\*\\*bold\\*\\* \\[x\\](http://e.invalid) \\`c\\` \\| t');
    // every list line is one line: nothing a value holds starts a line of its own
    for (const line of md.split('\n')) expect(line === '' || /^(#{2,3} |\*\*|- )/.test(line), line).toBe(true);
  });
});
