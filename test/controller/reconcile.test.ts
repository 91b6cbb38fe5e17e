import { afterAll, describe, it, expect } from 'vitest';
import { readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { networkInterfaces } from 'node:os';
import { reconcile, hostMatches, type ReconcileConfig, type ReconcileDeps, type ReconcileOptions } from '../../controller/reconcile.js';
import { createMemoryLogger } from '../../controller/lib/log.js';
import { createMemoryTarget, type MemoryTargetOptions } from '../../controller/targets/memory.js';
import { createIpset } from '../../controller/targets/ipset.js';
import { createPveClusterFw } from '../../controller/targets/pve-clusterfw.js';
import { writeFileSync, statSync } from 'node:fs';
import { execRunner, type Runner } from '../../controller/lib/exec.js';
import { readStatus } from '../../controller/status/run-status.js';
import { makeLedgerRemote, type LedgerRemote } from '../helpers/git.js';
import { cleanupTmp, tmpDir } from '../helpers/tmp.js';
import { banList, ledgerFiles, type FixtureBan } from '../helpers/fixtures.js';

afterAll(cleanupTmp);

const T0 = new Date('2027-01-01T00:00:00Z');
const after = (s: number) => new Date(T0.getTime() + s * 1000);
const hosts = (n: number, base = '198.51.100.'): FixtureBan[] => Array.from({ length: n }, (_, i) => ({ cidr: `${base}${i + 1}` }));

/** A reconciler for host `web1` whose targets are memory targets with stores the test can read and tamper with. */
function harness(remote: LedgerRemote, opts: { host?: string; faults?: Record<string, MemoryTargetOptions>; run?: Runner } = {}) {
  const stateDir = tmpDir('f2g-state');
  const stores = new Map<string, Set<string>>();
  const store = (name: string): Set<string> => stores.get(name) ?? stores.set(name, new Set()).get(name)!;
  const cfg: ReconcileConfig = { remote: remote.bare, branch: 'main', host: opts.host ?? 'web1', stateDir, metricsFile: join(stateDir, 'fail2git.prom') };
  let clock = T0;
  const log = createMemoryLogger();
  const deps: ReconcileDeps = {
    run: opts.run ?? execRunner,
    log,
    now: () => clock,
    createTarget: async (doc, tdeps) => {
      if (doc.spec.driver === 'ipset') return createIpset(doc.metadata.name, doc.spec.options ?? {}, tdeps);
      if (doc.spec.driver === 'pve-clusterfw') return createPveClusterFw(doc.metadata.name, doc.spec.options ?? {}, tdeps);
      return createMemoryTarget(doc.metadata.name, { store: store(doc.metadata.name), ...opts.faults?.[doc.metadata.name] });
    },
  };
  return {
    cfg, deps, log, store,
    keys: (name: string) => [...store(name)].sort(),
    setNow: (d: Date) => { clock = d; },
    run: (o: ReconcileOptions = {}) => reconcile(cfg, o, deps),
  };
}

describe('reconcile with memory targets and a real git remote', () => {
  it('brings the selected targets to the desired set at now; a second run changes nothing', async () => {
    const remote = makeLedgerRemote(ledgerFiles({
      bans: [{ cidr: '192.0.2.7' }, { cidr: '198.51.100.9', expires: after(3600) }, { cidr: '198.51.100.10', expires: after(-60) }, { cidr: '2001:db8:dead::/48' }],
      targets: [{ name: 'alpha', hosts: ['web*'] }, { name: 'beta' }, { name: 'gamma', hosts: ['db*', 'mail?'] }],
    }));
    const h = harness(remote);
    const r1 = await h.run();
    expect(r1.status.reason).toBe('Applied');
    expect(r1.status.ok).toBe(true);
    expect(h.keys('alpha')).toEqual(['192.0.2.7', '198.51.100.9', '2001:db8:dead::/48']);
    expect(h.keys('beta')).toEqual(h.keys('alpha'));
    expect(h.keys('gamma')).toEqual([]); // not for this host
    expect(Object.keys(r1.status.targets).sort()).toEqual(['alpha', 'beta']);
    expect(r1.status.commit.applied).toBe(remote.head());
    expect(r1.status.desired).toMatchObject({ entries: 3, skipped: { expired: 1 }, nextExpiry: '2027-01-01T01:00:00Z' });
    expect(r1.nextExpiry).toEqual(after(3600));
    const r2 = await h.run();
    expect(r2.status.reason).toBe('UpToDate');
    expect(r2.targets.every((t) => t.plan.add.length === 0 && t.plan.remove.length === 0)).toBe(true);
    expect(readStatus(h.cfg.stateDir)?.runsTotal).toBe(2);
  });

  it('follows ledger commits: a ban added, a ban lifted', async () => {
    const remote = makeLedgerRemote(ledgerFiles({ bans: [{ cidr: '192.0.2.7' }] }));
    const h = harness(remote);
    await h.run();
    remote.commit({ 'bans/active.yaml': banList([{ cidr: '192.0.2.8' }]) });
    const r = await h.run();
    expect(h.keys('alpha')).toEqual(['192.0.2.8']);
    expect(r.targets[0]).toMatchObject({ added: 1, removed: 1, drift: { readded: 0, removed: 0 } });
  });

  it('one failing target does not stop the others; the run reports it', async () => {
    const remote = makeLedgerRemote(ledgerFiles({ bans: [{ cidr: '192.0.2.7' }], targets: [{ name: 'alpha' }, { name: 'broken' }, { name: 'lying' }] }));
    const h = harness(remote, { faults: { broken: { fail: 'apply' } } });
    const r = await h.run();
    expect(h.keys('alpha')).toEqual(['192.0.2.7']);
    expect(r.status.reason).toBe('TargetsFailed');
    expect(r.status.ok).toBe(false);
    expect(r.status.targets.broken).toMatchObject({ reason: 'ApplyFailed', errorsTotal: 1 });
    expect(r.status.targets.broken!.error).toContain('injected fault');
    expect(r.status.targets.alpha).toMatchObject({ reason: 'Applied', entries: 1 });
    const again = await h.run();
    expect(again.status.targets.broken!.errorsTotal).toBe(2);
    expect(readFileSync(h.cfg.metricsFile, 'utf8')).toContain('fail2git_target_errors_total{target="broken",driver="file"} 2');
  });

  it('verifies by observing again: a driver that ignores removals is an error', async () => {
    const remote = makeLedgerRemote(ledgerFiles({ bans: [] }));
    const h = harness(remote, { faults: { alpha: { dropRemovals: true } } });
    h.store('alpha').add('192.0.2.99');
    const r = await h.run();
    expect(r.status.targets.alpha).toMatchObject({ reason: 'VerifyFailed' });
    expect(r.status.targets.alpha!.error).toMatch(/still differs by 0 missing and 1 extra/);
  });

  it('a driver whose binary is missing fails alone', async () => {
    const remote = makeLedgerRemote(ledgerFiles({ bans: [{ cidr: '192.0.2.7' }], targets: [{ name: 'kernel', driver: 'ipset', options: { setName: 'f2gmissing' } }, { name: 'alpha' }] }));
    // Every ipset/iptables call goes to a program that does not exist; git and ip still work.
    const run: Runner = (cmd, args, o) => execRunner(['ipset', 'iptables', 'ip6tables'].includes(cmd) ? `${cmd}-not-installed-f2g` : cmd, args, o);
    const h = harness(remote, { run });
    const r = await h.run();
    expect(r.status.targets.kernel).toMatchObject({ reason: 'ObserveFailed' });
    expect(r.status.targets.kernel!.error).toMatch(/not-installed-f2g: command not found/);
    expect(h.keys('alpha')).toEqual(['192.0.2.7']);
  });

  it('an invalid tip keeps the last good commit enforced, and status says why', async () => {
    const remote = makeLedgerRemote(ledgerFiles({ bans: [{ cidr: '192.0.2.7' }, { cidr: '192.0.2.8' }] }));
    const h = harness(remote);
    await h.run();
    const good = remote.head();
    const bad = remote.commit({ 'bans/active.yaml': 'apiVersion: fail2git/v1\nkind: BanList\nbans:\n  - {cidr: 192.0.2.300}\n' });
    const r = await h.run();
    expect(r.status.reason).toBe('InvalidLedger');
    expect(r.status.ok).toBe(false);
    expect(r.status.commit).toMatchObject({ applied: good, tip: bad });
    expect(r.status.commit.tipProblems[0]).toMatch(/bans\/active\.yaml:\d+:\d+: .*192\.0\.2\.300/);
    expect(r.status.message).toContain(`enforcing last good ${good.slice(0, 12)}`);
    expect(h.keys('alpha')).toEqual(['192.0.2.7', '192.0.2.8']);
    // Fixed at the tip: enforced again.
    const fixed = remote.commit({ 'bans/active.yaml': banList([{ cidr: '192.0.2.9' }]) });
    const r2 = await h.run();
    expect(r2.status).toMatchObject({ reason: 'Applied', commit: { applied: fixed, tipProblems: [] } });
    expect(h.keys('alpha')).toEqual(['192.0.2.9']);
  });

  it('a failed signature check holds the tip like an invalid ledger', async () => {
    const remote = makeLedgerRemote(ledgerFiles({ bans: [{ cidr: '192.0.2.7' }] }));
    const h = harness(remote);
    await h.run();
    const good = remote.head();
    remote.commit({ 'bans/active.yaml': banList([]) });
    h.deps.verifyCommit = async (rev, lastGood) => (lastGood === good ? { ok: false, message: `held: ${rev.slice(0, 7)} unsigned` } : { ok: true });
    const r = await h.run();
    expect(r.status.reason).toBe('InvalidLedger');
    expect(r.status.commit.tipProblems[0]).toContain('unsigned');
    expect(h.keys('alpha')).toEqual(['192.0.2.7']);
  });

  it('remote unreachable: the last fetched good commit stays enforced and expiries still happen', async () => {
    const remote = makeLedgerRemote(ledgerFiles({ bans: [{ cidr: '192.0.2.7', expires: after(10) }, { cidr: '192.0.2.8' }] }));
    const h = harness(remote);
    await h.run();
    const fetched = remote.head();
    expect(h.keys('alpha')).toEqual(['192.0.2.7', '192.0.2.8']);
    renameSync(remote.bare, remote.bare + '.gone');
    h.setNow(after(11));
    const r = await h.run();
    expect(r.status.reason).toBe('PullFailed');
    expect(r.status.remote.reachable).toBe(false);
    expect(r.status.commit.applied).toBe(fetched);
    expect(h.keys('alpha')).toEqual(['192.0.2.8']);
    expect(readFileSync(h.cfg.metricsFile, 'utf8')).toContain('fail2git_remote_reachable 0');
  });

  it('refuses a plan removing more than maxRemovePerRun until --force; adds still happen', async () => {
    const remote = makeLedgerRemote(ledgerFiles({ bans: hosts(30) }));
    const h = harness(remote);
    await h.run();
    expect(h.store('alpha').size).toBe(30);
    remote.commit({ 'bans/active.yaml': banList([{ cidr: '203.0.113.5' }]) });
    const refused = await h.run();
    expect(refused.status.targets.alpha).toMatchObject({ reason: 'GuardRefused', heldRemovals: 30, added: 1 });
    expect(refused.status.targets.alpha!.error).toMatch(/refusing to remove 30 of 30 entries .*--force/);
    expect(refused.status.ok).toBe(false);
    expect(h.store('alpha').size).toBe(31);
    const forced = await h.run({ force: true });
    expect(forced.status.targets.alpha).toMatchObject({ reason: 'Applied', removed: 30 });
    expect(h.keys('alpha')).toEqual(['203.0.113.5']);
  });

  it('an absolute maxRemovePerRun from the policy applies', async () => {
    const remote = makeLedgerRemote(ledgerFiles({ bans: hosts(5), policy: { maxRemovePerRun: 2 } }));
    const h = harness(remote);
    await h.run();
    remote.commit({ 'bans/active.yaml': banList(hosts(2)) });
    expect((await h.run()).status.targets.alpha!.reason).toBe('GuardRefused');
  });

  it('never enforces protected addresses: this host, the remote host, targets\' own', async () => {
    // This host's own address (loopback is no longer a valid ban at all: controller/net/special.ts).
    const own = Object.values(networkInterfaces()).flat().find((a) => a && !a.internal && a.family === 'IPv4' && a.address !== '192.0.2.7')?.address;
    const remote = makeLedgerRemote(ledgerFiles({
      bans: [...(own ? [{ cidr: own }] : []), { cidr: '192.0.2.7' }, { cidr: '203.0.113.0/24' }, { cidr: '198.51.100.1' }],
      targets: [{ name: 'alpha' }, { name: 'api', driver: 'pve-api', hosts: ['pve*'], options: { url: 'https://198.51.100.1:8006' } }],
    }));
    const h = harness(remote, { faults: { alpha: { protectedAddresses: ['203.0.113.9'] } } });
    const r = await h.run();
    expect(h.keys('alpha')).toEqual(['192.0.2.7']);
    expect(r.status.desired.skipped.protected).toBe(own ? 3 : 2);
    expect(h.log.lines.filter((l) => l.event === 'skip.protected').map((l) => l.fields.cidr).sort()).toEqual([...(own ? [own] : []), '198.51.100.1', '203.0.113.0/24'].sort());
  });

  it('--dry-run observes and plans but changes nothing, and does not move counters', async () => {
    const remote = makeLedgerRemote(ledgerFiles({ bans: [{ cidr: '192.0.2.7' }] }));
    const h = harness(remote);
    h.store('alpha').add('192.0.2.99');
    const r = await h.run({ dryRun: true });
    expect(r.status.reason).toBe('DryRun');
    expect(r.targets[0]!.plan.add.map((a) => a.cidr)).toEqual(['192.0.2.7']);
    expect(r.targets[0]!.plan.remove.map((a) => a.cidr)).toEqual(['192.0.2.99']);
    expect(h.keys('alpha')).toEqual(['192.0.2.99']);
    expect(readStatus(h.cfg.stateDir)).toBeUndefined();
  });

  it('--target runs only the named targets and reports names that match nothing here', async () => {
    const remote = makeLedgerRemote(ledgerFiles({ bans: [{ cidr: '192.0.2.7' }], targets: [{ name: 'alpha' }, { name: 'beta' }, { name: 'gamma', hosts: ['db*'] }] }));
    const h = harness(remote);
    const r = await h.run({ targets: ['beta', 'gamma', 'nope'] });
    expect(r.targets.map((t) => t.name)).toEqual(['beta']);
    expect(h.keys('alpha')).toEqual([]);
    expect(h.keys('beta')).toEqual(['192.0.2.7']);
    expect(r.unknownTargets).toEqual(['gamma', 'nope']);
  });

  it('counts drift: entries someone deleted from or added to what a target owns', async () => {
    const remote = makeLedgerRemote(ledgerFiles({ bans: [{ cidr: '192.0.2.7' }, { cidr: '192.0.2.8' }] }));
    const h = harness(remote);
    await h.run();
    h.store('alpha').delete('192.0.2.7');
    h.store('alpha').add('192.0.2.66');
    const r = await h.run();
    expect(h.keys('alpha')).toEqual(['192.0.2.7', '192.0.2.8']);
    expect(r.status.targets.alpha).toMatchObject({ driftLast: { readded: 1, removed: 1 }, driftCorrectedTotal: 2 });
    // A ledger change is not drift.
    remote.commit({ 'bans/active.yaml': banList([{ cidr: '192.0.2.8' }]) });
    const r2 = await h.run();
    expect(r2.status.targets.alpha).toMatchObject({ removed: 1, driftLast: { readded: 0, removed: 0 }, driftCorrectedTotal: 2 });
  });

  it('no good commit ever fetched: nothing is enforced and nothing is touched', async () => {
    const remote = makeLedgerRemote({ 'bans/active.yaml': 'kind: [broken\n' });
    const h = harness(remote);
    h.store('alpha').add('192.0.2.99');
    const r = await h.run();
    expect(r.status.reason).toBe('NoLedger');
    expect(r.status.ok).toBe(false);
    expect(h.keys('alpha')).toEqual(['192.0.2.99']);
  });

  it('a tip unchanged since the last run is not parsed again (the desired-set cache answers)', async () => {
    const remote = makeLedgerRemote(ledgerFiles({ bans: [{ cidr: '192.0.2.7' }] }));
    const h = harness(remote);
    await h.run();
    const cache = JSON.parse(readFileSync(join(h.cfg.stateDir, 'desired-cache.json'), 'utf8')) as { rev: string; cidr: string[] };
    expect(cache).toMatchObject({ rev: remote.head(), cidr: ['192.0.2.7'] });
    const calls: string[] = [];
    h.deps.run = (cmd, args, o) => { calls.push(`${cmd} ${args.filter((a) => !a.startsWith('-') && a !== h.cfg.stateDir).slice(1, 2).join(' ')}`); return execRunner(cmd, args, o); };
    await h.run();
    expect(calls.filter((c) => c.startsWith('git') && /show|cat-file/.test(c))).toEqual([]);
  });
});

describe('the last good ledger snapshot', () => {
  it('is kept on the policy\'s gcHost only (gc reads it), and the clone shows the accepted commit', async () => {
    const remote = makeLedgerRemote(ledgerFiles({ bans: [{ cidr: '192.0.2.7' }], policy: { gcHost: 'web1' } }));
    const gcHost = harness(remote);
    await gcHost.run();
    const snap = JSON.parse(readFileSync(join(gcHost.cfg.stateDir, 'last-good-ledger.json'), 'utf8')) as { rev: string; ledger: { bans: unknown[] } };
    expect(snap.rev).toBe(remote.head());
    // what enforcing needs: the key, expiry, who, jail, and when and how often (ranking a full target)
    expect(snap.ledger.bans).toEqual([{ cidr: '192.0.2.7', by: 'test', jail: 'sshd', at: expect.any(String) }]);
    expect(readFileSync(join(gcHost.cfg.stateDir, 'ledger', 'bans', 'policy.yaml'), 'utf8')).toContain('gcHost');
    const other = harness(remote, { host: 'web2' });
    await other.run();
    expect(() => readFileSync(join(other.cfg.stateDir, 'last-good-ledger.json'))).toThrow();
  });
});

describe('hostMatches', () => {
  const cases: [string[] | undefined, string, boolean][] = [
    [undefined, 'anything', true],
    [['web*'], 'web1', true],
    [['web*'], 'mail1', false],
    [['web?'], 'web12', false],
    [['pve[12]'], 'pve2', true],
    [['pve[12]'], 'pve3', false],
    [['a.b'], 'axb', false],
    [[], 'web1', false],
    [['pve[!1]'], 'pve1', false],
    [['pve[!1]'], 'pve2', true],
    [['web[0-9]*'], 'web12', true],
    [['web[0-9]*'], 'webx', false],
    [['db[z-a]'], 'dbz', false],
    [['x[y'], 'x[y', true],
    [['*.example.org'], 'web1.example.org', true],
    [['*.example.org'], 'web1-example.org', false],
  ];
  for (const [globs, host, want] of cases) it(`${JSON.stringify(globs)} ${host} → ${want}`, () => expect(hostMatches(globs, host)).toBe(want));
});

describe('reconcile across runs (cached desired set)', () => {
  it('a newly protected address is dropped on the next run although the tip did not move', async () => {
    const remote = makeLedgerRemote(ledgerFiles({ bans: [{ cidr: '192.0.2.7' }, { cidr: '192.0.2.8' }] }));
    const prot: string[] = [];
    const h = harness(remote, { faults: { alpha: { protectedAddresses: prot } } });
    await h.run();
    expect(h.keys('alpha')).toEqual(['192.0.2.7', '192.0.2.8']);
    prot.push('192.0.2.8');
    const r = await h.run();
    expect(h.keys('alpha')).toEqual(['192.0.2.7']);
    expect(r.status.desired.skipped.protected).toBe(1);
  });

  it('expiries happen from the cache, and the next expiry moves on', async () => {
    const remote = makeLedgerRemote(ledgerFiles({ bans: [{ cidr: '192.0.2.7', expires: after(5) }, { cidr: '192.0.2.8', expires: after(50) }, { cidr: '192.0.2.9' }] }));
    const h = harness(remote);
    const r1 = await h.run();
    expect(r1.nextExpiry).toEqual(after(5));
    h.setNow(after(6));
    const r2 = await h.run();
    expect(h.keys('alpha')).toEqual(['192.0.2.8', '192.0.2.9']);
    expect(r2.nextExpiry).toEqual(after(50));
    expect(r2.status.desired.skipped).toEqual({ expired: 1 });
    h.setNow(after(51));
    await h.run();
    expect(h.keys('alpha')).toEqual(['192.0.2.9']);
  });

  it('a clock set back recomputes from the ledger instead of trusting the cache', async () => {
    const remote = makeLedgerRemote(ledgerFiles({ bans: [{ cidr: '192.0.2.7', expires: after(5) }] }));
    const h = harness(remote);
    h.setNow(after(10));
    await h.run();
    expect(h.keys('alpha')).toEqual([]);
    h.setNow(T0);
    await h.run();
    expect(h.keys('alpha')).toEqual(['192.0.2.7']);
  });
});

describe('an invalid tip over time', () => {
  it('is remembered rather than parsed every run, and re-checked after a few minutes (a fixed signer file is picked up)', async () => {
    const remote = makeLedgerRemote(ledgerFiles({ bans: [{ cidr: '192.0.2.7' }] }));
    const h = harness(remote);
    await h.run();
    const good = remote.head();
    const tip = remote.commit({ 'bans/active.yaml': banList([{ cidr: '192.0.2.8' }]) });
    let checks = 0;
    let signed = false;
    h.deps.verifyCommit = async () => { checks++; return signed ? { ok: true } : { ok: false, message: 'held: unsigned' }; };
    expect((await h.run()).status.commit).toMatchObject({ applied: good, tip });
    h.setNow(after(60));
    await h.run();
    expect(checks).toBe(1);
    signed = true; // e.g. the operator fixed allowed_signers
    h.setNow(after(6 * 60));
    const r = await h.run();
    expect(checks).toBe(2);
    expect(r.status.commit).toMatchObject({ applied: tip, tipProblems: [] });
    expect(h.keys('alpha')).toEqual(['192.0.2.8']);
  });
});

describe('quiet runs (watch mode)', () => {
  it('log a `run` line only when something changed, failed, or the reason changed', async () => {
    const remote = makeLedgerRemote(ledgerFiles({ bans: [{ cidr: '192.0.2.7' }] }));
    const h = harness(remote);
    const runs = () => h.log.lines.filter((l) => l.event === 'run').length;
    await h.run({ quiet: true });
    expect(runs()).toBe(1); // applied
    await h.run({ quiet: true });
    expect(runs()).toBe(2); // Applied → UpToDate
    await h.run({ quiet: true });
    await h.run({ quiet: true });
    expect(runs()).toBe(2); // nothing new
    h.store('alpha').clear();
    await h.run({ quiet: true });
    expect(runs()).toBe(3); // drift corrected
  });
});

describe('a full target keeps enforcing the newest bans', () => {
  it('fills a pve-clusterfw past its size limit: the run succeeds, says how many were left out, and bans added later land', async () => {
    const fw = join(tmpDir('f2g-pvefw'), 'cluster.fw');
    writeFileSync(fw, '[OPTIONS]\nenable: 1\n\n[RULES]\nIN DROP -source +dc/fail2ban\n');
    const target = { name: 'dc', driver: 'pve-clusterfw', options: { path: fw, lockDir: tmpDir('f2g-lock'), maxBytes: 20_000 } };
    // every fixture ban has the same `at`: nothing but "new since the last run" tells them apart
    const filler = Array.from({ length: 600 }, (_, i) => ({ cidr: `10.${i >> 8}.${i & 255}.0/24`, expires: after(86_400) }));
    const remote = makeLedgerRemote(ledgerFiles({ bans: filler, targets: [target] }));
    const h = harness(remote);
    const first = await h.run();
    expect(first.targets[0]).toMatchObject({ reason: 'Applied' });
    expect(first.targets[0]!.error).toBeUndefined();
    const left1 = first.targets[0]!.leftOut;
    expect(left1).toBeGreaterThan(100);
    expect(statSync(fw).size).toBeLessThanOrEqual(20_000);
    expect(readStatus(h.cfg.stateDir)!.targets.dc).toMatchObject({ leftOut: left1, reason: 'Applied' });
    expect(readFileSync(h.cfg.metricsFile, 'utf8')).toContain(`fail2git_target_left_out_entries{target="dc",driver="pve-clusterfw"} ${left1}\n`);
    expect(h.log.lines.filter((l) => l.event === 'target.full')).toHaveLength(1);

    const fresh = ['203.0.113.7', '198.51.100.99', '2001:db8:99::/48'];
    remote.commit({ 'bans/active.yaml': banList([...filler, ...fresh.map((cidr) => ({ cidr, expires: after(86_400) }))]) });
    const second = await h.run();
    expect(second.targets[0]).toMatchObject({ reason: 'Applied' });
    const text = readFileSync(fw, 'utf8');
    for (const cidr of fresh) expect(text).toContain(`\n${cidr} # fail2git `);
    expect(statSync(fw).size).toBeLessThanOrEqual(20_000);
    // the next run keeps them: nothing trades places
    const third = await h.run();
    expect(third.targets[0]).toMatchObject({ reason: 'UpToDate', leftOut: second.targets[0]!.leftOut });
    expect(readFileSync(fw, 'utf8')).toBe(text);
  });
});
