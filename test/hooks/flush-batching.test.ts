/**
 * How the flusher batches (hooks/flush.ts), in process against real git: a lone ban goes out
 * at once, a stream of records waits through growing pauses (a storm costs a few commits),
 * the last pause ends once the stream stops, and a push that lost the race to another writer
 * takes along the records that arrived meanwhile.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { flushSpool } from '../../hooks/flush.js';
import { newOpId, spoolOperation } from '../../hooks/spool.js';
import type { Operation } from '../../hooks/operations.js';
import { settingsToHostConfig, type HostConfig } from '../../controller/config/host-config.js';
import { execRunner, type Runner } from '../../controller/lib/exec.js';
import { makeLedgerRemote } from '../helpers/git.js';
import { commitCount, makeHost, remoteBans, spooled, type TestHost } from '../helpers/hook-host.js';
import { cleanupTmp } from '../helpers/tmp.js';

afterAll(cleanupTmp);

function hostConfig(host: TestHost, remote: string): HostConfig {
  return settingsToHostConfig({ remote, branch: 'main', host: host.name, stateDir: host.stateDir }, host.config);
}

function spoolBan(host: TestHost, ip: string): Operation {
  const op: Operation = {
    v: 1, id: newOpId(host.name), op: 'ban', cidr: ip, widen: true, at: new Date(Math.floor(Date.now() / 1000) * 1000).toISOString().replace('.000Z', 'Z'),
    by: host.name, host: host.name, jail: 'sshd', ttl: 3600, escalate: true,
  };
  spoolOperation(host.spool, op);
  return op;
}

describe('flusher batching', () => {
  it('a lone ban goes out at once: one round, no pause before it', async () => {
    const remote = makeLedgerRemote();
    const host = makeHost(remote.bare, 'lone1');
    const cfg = hostConfig(host, remote.bare);
    const before = commitCount(remote.bare);
    const op = spoolBan(host, '10.61.0.1');
    const res = await flushSpool(cfg);
    expect(res.pauses).toEqual([]);
    expect(res.commits).toHaveLength(1);
    expect(res.commitOf[op.id]).toBe(res.commits[0]);
    expect(commitCount(remote.bare)).toBe(before + 1);
    expect(remoteBans(remote.bare).map((b) => b.cidr)).toContain('10.61.0.1');
  });

  it('a stream of records: the pause between rounds grows, the stream lands in a few commits, and the last pause ends when the stream stops', async () => {
    const remote = makeLedgerRemote();
    const host = makeHost(remote.bare, 'stream1');
    const cfg = hostConfig(host, remote.bare);
    const ips: string[] = [];
    let streaming = true;
    let stopped = 0;
    const stream = (async () => {
      for (let i = 0; i < 80; i++) {
        const ip = `10.62.${i >> 6}.${(i & 63) + 1}`;
        spoolBan(host, ip);
        ips.push(ip);
        await new Promise((r) => setTimeout(r, 40));
      }
      streaming = false;
      stopped = Date.now();
    })();
    await new Promise((r) => setTimeout(r, 20));
    const res = await flushSpool(cfg);
    await stream;
    // flushSpool returns when it finds the spool empty; the stream may outlast a round that caught up with it.
    const rest = streaming || spooled(host).length > 0 ? await flushSpool(cfg) : undefined;
    const pauses = [...res.pauses, ...(rest?.pauses ?? [])];
    expect(res.pauses.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < res.pauses.length; i++) expect(res.pauses[i]!).toBeGreaterThan(res.pauses[i - 1]!);
    expect(res.commits.length + (rest?.commits.length ?? 0)).toBeLessThanOrEqual(6);
    // The nominal last pause is ≥ 6 s; the round came once the spool had been quiet for a second.
    expect(Math.max(...pauses)).toBeGreaterThanOrEqual(6000);
    expect(Date.now() - stopped).toBeLessThan(5500);
    const bans = remoteBans(remote.bare).map((b) => b.cidr);
    for (const ip of ips) expect(bans).toContain(ip);
    expect(spooled(host)).toEqual([]);
  }, 60_000);

  it('a push that lost the race to another writer is retried with the records that arrived meanwhile in the same commit', async () => {
    const remote = makeLedgerRemote();
    const host = makeHost(remote.bare, 'race1');
    let raced = false;
    let late: Operation | undefined;
    const run: Runner = async (cmd, args, o) => {
      if (!raced && args.includes('push')) {
        raced = true;
        remote.commit({ 'notes.txt': 'another writer\n' }, 'another writer pushed first');
        late = spoolBan(host, '10.63.0.2');
      }
      return execRunner(cmd, args, o);
    };
    const cfg = hostConfig(host, remote.bare);
    const before = commitCount(remote.bare);
    const first = spoolBan(host, '10.63.0.1');
    const res = await flushSpool(cfg, { run });
    expect(raced).toBe(true);
    expect(res.commits).toHaveLength(1);
    expect(res.commitOf[first.id]).toBe(res.commits[0]);
    expect(res.commitOf[late!.id]).toBe(res.commits[0]);
    expect(commitCount(remote.bare)).toBe(before + 2); // the other writer's and ours
    expect(remoteBans(remote.bare).map((b) => b.cidr)).toEqual(expect.arrayContaining(['10.63.0.1', '10.63.0.2']));
    expect(spooled(host)).toEqual([]);
  });
});
