import { describe, it, expect, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { auditAddress } from '../../../controller/audit/history.js';
import { renderAuditText } from '../../../controller/audit/render.js';
import { git, makeLedgerRemote } from '../../helpers/git.js';
import { cleanupTmp, tmpDir } from '../../helpers/tmp.js';

afterAll(() => cleanupTmp());

const HEAD = 'apiVersion: fail2git/v1\nkind: BanList\nbans:\n';
const ledger = (...lines: string[]) => (lines.length === 0 ? HEAD.replace('bans:\n', 'bans: []\n') : HEAD + lines.map((l) => `  - ${l}\n`).join(''));

/** Commits bans/active.yaml in `work` as `who`, at `when` (epoch seconds), with `message`. */
function commitAs(work: string, who: string, when: number, text: string, message: string): string {
  writeFileSync(join(work, 'bans/active.yaml'), text);
  const env = { ...process.env, GIT_AUTHOR_NAME: who, GIT_AUTHOR_EMAIL: `${who}@example.invalid`, GIT_COMMITTER_NAME: who,
    GIT_COMMITTER_EMAIL: `${who}@example.invalid`, GIT_AUTHOR_DATE: `${when} +0000`, GIT_COMMITTER_DATE: `${when} +0000` };
  execFileSync('git', ['commit', '-q', '-a', '-m', message], { cwd: work, env });
  return git(work, 'rev-parse', 'HEAD');
}

const T0 = Date.UTC(2026, 10, 25, 8, 0, 0) / 1000;
const A = '{cidr: 203.0.113.7, expires: 2026-11-25T09:00:00Z, at: 2026-11-25T08:00:00Z, by: web1, jail: sshd, count: 1}';
const A2 = '{cidr: 203.0.113.7, expires: 2026-11-25T12:00:00Z, at: 2026-11-25T08:10:00Z, by: web2, jail: sshd, count: 2}';
const NET = '{cidr: 203.0.113.0/24, at: 2026-11-25T08:20:00Z, by: alice, reason: botnet}';

function buildHistory() {
  const remote = makeLedgerRemote({ 'bans/active.yaml': ledger() });
  const w = remote.work;
  const c1 = commitAs(w, 'web1', T0, ledger(A), 'ban 203.0.113.7 (sshd@web1, 1h)\n\nFail2git-Op: ban\nFail2git-Cidr: 203.0.113.7\nFail2git-Jail: sshd\nFail2git-Host: web1');
  const c2 = commitAs(w, 'web2', T0 + 600, ledger(A2), 'ban 203.0.113.7 (sshd@web2, 4h)\n\nFail2git-Op: ban\nFail2git-Cidr: 203.0.113.7\nFail2git-Jail: sshd\nFail2git-Host: web2');
  // A pull request by a person: a branch with a hand edit, merged with --no-ff.
  git(w, 'checkout', '-q', '-b', 'pr');
  const pr = commitAs(w, 'alice', T0 + 1200, ledger(A2, NET), 'block the whole botnet range');
  git(w, 'checkout', '-q', 'main');
  execFileSync('git', ['merge', '-q', '--no-ff', '-m', 'Merge pull request #7', 'pr'], { cwd: w, env: { ...process.env, GIT_COMMITTER_DATE: `${T0 + 1300} +0000`, GIT_AUTHOR_DATE: `${T0 + 1300} +0000`, GIT_AUTHOR_NAME: 'bob', GIT_AUTHOR_EMAIL: 'bob@x', GIT_COMMITTER_NAME: 'bob', GIT_COMMITTER_EMAIL: 'bob@x' } });
  const c3 = commitAs(w, 'alice', T0 + 1800, ledger(NET), 'unban 203.0.113.7\n\nFail2git-Op: unban\nFail2git-Cidr: 203.0.113.7\nFail2git-Host: web3\nFail2git-By: alice');
  return { remote, c1, c2, pr, c3 };
}

describe('auditAddress on real git history', () => {
  it('lists bans, extensions, hand edits of covering ranges, and unbans in order with actors', async () => {
    const h = buildHistory();
    const report = await auditAddress('203.0.113.7', { repoDir: h.remote.work });
    expect(report.events.map((e) => [e.action, e.cidr, e.relation, e.actor, e.via, e.commit])).toEqual([
      ['banned', '203.0.113.7', 'exact', 'web1', 'fail2ban', h.c1],
      ['extended', '203.0.113.7', 'exact', 'web2', 'fail2ban', h.c2],
      ['banned', '203.0.113.0/24', 'covered-by', 'alice <alice@example.invalid>', 'hand-edit', h.pr],
      ['unbanned', '203.0.113.7', 'exact', 'alice', 'manual', h.c3],
    ]);
    expect(report.events[0]).toMatchObject({ jail: 'sshd', ttl: '1h', count: 1, expires: '2026-11-25T09:00:00Z', time: '2026-11-25T08:00:00Z' });
    expect(report.events[1]).toMatchObject({ ttl: '3h50m', count: 2 });
    expect(report.current).toEqual([{ cidr: '203.0.113.0/24', relation: 'covered-by', entry: expect.objectContaining({ by: 'alice' }) }]);
    const text = renderAuditText(report);
    expect(text).toContain('now: covered by 203.0.113.0/24');
  });

  it('says an address that was never banned was never banned', async () => {
    const h = buildHistory();
    const report = await auditAddress('192.0.2.99', { repoDir: h.remote.work });
    expect(report.events).toEqual([]);
    expect(renderAuditText(report)).toMatch(/^192\.0\.2\.99 was never banned in 6 commits since /);
  });

  it('reports history as missing on a shallow clone it may not deepen, and deepens when allowed', async () => {
    const h = buildHistory();
    git(h.remote.work, 'push', '-q', 'origin', 'main');
    const dir = join(tmpDir('f2g-audit'), 'shallow');
    git(h.remote.work, 'clone', '-q', '--depth', '1', `file://${h.remote.bare}`, dir);
    const missing = await auditAddress('203.0.113.7', { repoDir: dir, deepen: false });
    expect(missing.historyMissing).toMatch(/history before .* is missing: shallow clone/);
    expect(missing.events.map((e) => e.action)).toEqual(['unbanned']);
    const deepened = await auditAddress('203.0.113.7', { repoDir: dir });
    expect(deepened.historyMissing).toBeUndefined();
    expect(deepened.events.map((e) => e.action)).toEqual(['banned', 'extended', 'banned', 'unbanned']);
  });

  it('reads hand edits written in block style by comparing the parsed files', async () => {
    const remote = makeLedgerRemote({ 'bans/active.yaml': ledger() });
    const block = HEAD + '  - cidr: 203.0.113.0/25\n    reason: block style by hand\n    by: dave\n';
    const added = commitAs(remote.work, 'dave', T0, block, 'add a range, block style');
    const edited = commitAs(remote.work, 'dave', T0 + 60, block.replace('by: dave', 'by: erin'), 'reassign');
    const removed = commitAs(remote.work, 'dave', T0 + 120, ledger(), 'remove it');
    const report = await auditAddress('203.0.113.7', { repoDir: remote.work });
    expect(report.events.map((e) => [e.action, e.cidr, e.relation, e.via, e.commit])).toEqual([
      ['banned', '203.0.113.0/25', 'covered-by', 'hand-edit', added],
      ['edited', '203.0.113.0/25', 'covered-by', 'hand-edit', edited],
      ['unbanned', '203.0.113.0/25', 'covered-by', 'hand-edit', removed],
    ]);
    expect(report.events[1]!.detail).toBe('by dave → erin');
  });

  it("a .gitattributes in the ledger (-diff, textconv) does not hide hand edits", async () => {
    const remote = makeLedgerRemote({ 'bans/active.yaml': ledger(), '.gitattributes': 'bans/*.yaml -diff\n' });
    const added = commitAs(remote.work, 'dave', T0, ledger(A), 'add by hand');
    const removed = commitAs(remote.work, 'mallory', T0 + 60, ledger(), 'quietly lift it');
    const report = await auditAddress('203.0.113.7', { repoDir: remote.work });
    expect(report.events.map((e) => [e.action, e.via, e.commit])).toEqual([
      ['banned', 'hand-edit', added],
      ['unbanned', 'hand-edit', removed],
    ]);
  });

  it('filters with --since but still knows what happened before', async () => {
    const h = buildHistory();
    const report = await auditAddress('203.0.113.7', { repoDir: h.remote.work, since: new Date((T0 + 500) * 1000) });
    expect(report.events.map((e) => e.action)).toEqual(['extended', 'banned', 'unbanned']);
  });
});
