import { pveFixturesDir } from '../../helpers/fixtures.js';
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { createPveClusterFw } from '../../../controller/targets/pve-clusterfw.js';
import type { DesiredEntry, Target } from '../../../controller/targets/types.js';
import { syncTarget, type SyncTargetInput } from '../../../controller/reconcile/target.js';
import { DEFAULT_POLICY } from '../../../controller/ledger/types.js';
import { execRunner } from '../../../controller/lib/exec.js';
import { cleanupTmp, tmpDir } from '../../helpers/tmp.js';
import { parseClusterFw, proxmoxRewrite } from '../../helpers/pve-emulator.js';
import { entry, observedKeys, planFor, sortKeys, testTarget, type StartingState, type TargetFixture } from '../../helpers/target-contract.js';
import { testDeps } from '../../helpers/target-deps.js';

const FIXTURES = pveFixturesDir();
afterAll(cleanupTmp);

function fixtureFiles(dir = FIXTURES): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? fixtureFiles(join(dir, d.name)) : d.name.endsWith('.fw') ? [join(dir, d.name)] : []);
}

function fwTarget(path: string, options: Record<string, unknown> = {}): Target {
  return createPveClusterFw('dc', { path, lockDir: tmpDir('f2g-lock'), ...options }, testDeps(execRunner));
}

function tempFw(text?: string): string {
  const path = join(tmpDir('f2g-pvefw'), 'cluster.fw');
  if (text !== undefined) writeFileSync(path, text, { mode: 0o640 });
  return path;
}

const FOREIGN = `[OPTIONS]

# keep me
enable: 1
policy_in: DROP

[ALIASES]

admin 192.0.2.10 # the admin box

[IPSET fail2ban]

10.9.9.9 # hand-made, not ours
! 10.9.9.0/28
#a comment line inside our section

[IPSET other]
198.51.100.7 # fail2git looks like ours but is another set

[RULES]

IN DROP -source +dc/fail2ban
IN SSH(ACCEPT) -source admin
`;

const OURS = /^[^[].* # fail2git /;

interface FwFixture extends TargetFixture {
  path: string;
}

const edit = (path: string, fn: (text: string) => string): void => writeFileSync(path, fn(readFileSync(path, 'utf8')));

/** After the run: no broken line of ours is left, and the file ends with a newline. */
async function sectionIsClean({ path }: FwFixture): Promise<void> {
  const text = readFileSync(path, 'utf8');
  expect(text.endsWith('\n')).toBe(true);
  expect(text).not.toMatch(/^!.*# fail2git/m);
  expect(text).not.toMatch(/^admin # fail2git/m);
}

const FW_STATES: StartingState<FwFixture>[] = [
  {
    name: 'wrong type: members of ours turned into exceptions (! cidr # fail2git …), which un-ban',
    damage: async ({ path }) => edit(path, (t) => t.replace(/^(198\.51\.100\.7 # fail2git)/m, '! $1').replace(/^(192\.0\.2\.128\/25 # fail2git)/m, '!$1')),
    check: sectionIsClean,
  },
  {
    name: 'wrong type: a marked member naming an alias instead of a network',
    damage: async ({ path }) => edit(path, (t) => t.replace(/^(198\.51\.100\.7 # fail2git.*)$/m, '$1\nadmin # fail2git manual@pve1 permanent')),
    check: sectionIsClean,
  },
  {
    name: 'half-applied: the section missing its end (file cut off in our last member, no newline)',
    foreign: 'check',
    damage: async ({ path }) => {
      // our section last in the file, its last line cut in the middle of the address
      const text = readFileSync(path, 'utf8');
      const lines = text.split('\n');
      const start = lines.findIndex((l) => /^\[IPSET fail2ban\]/i.test(l));
      let end = lines.findIndex((l, i) => i > start && l.startsWith('['));
      if (end < 0) end = lines.length;
      const section = lines.slice(start, end).filter((l) => l !== '');
      const rest = [...lines.slice(0, start), ...lines.slice(end)].join('\n').replace(/\n*$/, '\n\n');
      const lastOurs = section.findLastIndex((l) => OURS.test(l));
      const torn = section[lastOurs]!.slice(0, 6);
      writeFileSync(path, rest + [...section.slice(0, lastOurs), ...section.slice(lastOurs + 1), torn].join('\n'));
    },
    check: async (fx) => {
      await sectionIsClean(fx);
      expect(readFileSync(fx.path, 'utf8')).toMatch(/\[RULES\][\s\S]*\[IPSET fail2ban\]/);
    },
  },
  {
    name: 'half-applied: our section emptied of members and its header comment lost',
    damage: async ({ path }) => edit(path, (t) => t.split('\n').filter((l) => !OURS.test(l)).join('\n')),
  },
];

testTarget('pve-clusterfw', async (): Promise<FwFixture> => {
  const path = tempFw();
  return {
    path,
    target: fwTarget(path),
    foreign: {
      async seed() { writeFileSync(path, FOREIGN); },
      async snapshot() { return readFileSync(path, 'utf8').split('\n').filter((l) => !OURS.test(l)).join('\n'); },
    },
    async cleanup() { /* temp dirs go in afterAll */ },
  };
}, { states: FW_STATES });

/** result = original with one contiguous block inserted, made only of our header, blanks and our members */
function insertedBlock(before: string, after: string): string[] {
  const a = before.split('\n');
  const b = after.split('\n');
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  const tail = a.slice(i);
  expect(b.slice(b.length - tail.length)).toEqual(tail);
  return b.slice(i, b.length - tail.length);
}

describe('pve-clusterfw round trip over every Proxmox fixture', () => {
  const files = fixtureFiles();
  it('finds the fixtures', () => expect(files.length).toBeGreaterThanOrEqual(18));

  for (const file of files) {
    const name = relative(FIXTURES, file);
    it(`${name}: empty plan is byte-identical; add/remove touch only the managed section`, async () => {
      const original = readFileSync(file, 'utf8');
      const path = tempFw(original);
      const t = fwTarget(path);
      expect(await t.apply({ add: [], remove: [] })).toEqual({ added: 0, removed: 0 });
      expect(readFileSync(path, 'utf8')).toBe(original);
      expect(await t.observe()).toEqual([]);

      const want = ['203.0.113.0/24', '198.51.100.7', '2001:db8:dead::/48', '2001:db8::1'];
      expect(await t.apply({ add: want.map(entry), remove: [] })).toEqual({ added: 4, removed: 0 });
      const added = readFileSync(path, 'utf8');
      const block = insertedBlock(original, added);
      expect(block.filter((l) => OURS.test(l))).toHaveLength(4);
      expect(block.every((l) => l === '' || OURS.test(l) || l === '[IPSET fail2ban] # fail2git managed bans')).toBe(true);
      expect(await observedKeys(t)).toEqual(sortKeys(want));
      // Proxmox's own parser model sees exactly our members in the set, and the options unchanged
      const parsed = parseClusterFw(added);
      expect(parsed.ipsets.get('fail2ban')?.entries.map((e) => e.cidr).sort()).toEqual([...want].sort());
      expect(parsed.options).toEqual(parseClusterFw(original).options);

      await t.apply({ add: [], remove: await t.observe() });
      const removed = readFileSync(path, 'utf8');
      expect(insertedBlock(original, removed).every((l) => l === '' || l.startsWith('[IPSET fail2ban]'))).toBe(true);
      expect(await t.observe()).toEqual([]);
    });
  }

  it('edits an existing lower-case [ipset blacklist]: header upper-cased, foreign members, comments and nomatch kept', async () => {
    const original = readFileSync(join(FIXTURES, 'pve-firewall/debian-example/cluster.fw'), 'utf8');
    const path = tempFw(original);
    const t = fwTarget(path, { ipset: 'blacklist' });
    expect(await t.observe()).toEqual([]);
    await t.apply({ add: ['203.0.113.9', '2001:db8:bad::/48'].map(entry), remove: [] });
    const text = readFileSync(path, 'utf8');
    const before = '#global ipset blacklist\n[ipset blacklist]\n\n10.0.0.8\n192.168.0.0/24\n2001:db8:0:85a3:0:0:ac1f:8001\n';
    expect(original.endsWith(before)).toBe(true);
    expect(text).toBe(original.slice(0, -before.length) + '#global ipset blacklist\n[IPSET blacklist]\n\n10.0.0.8\n192.168.0.0/24\n2001:db8:0:85a3:0:0:ac1f:8001\n' +
      '203.0.113.9 # fail2git manual@testhost permanent\n2001:db8:bad::/48 # fail2git manual@testhost permanent\n');
    expect(parseClusterFw(text).ipsets.get('blacklist')?.entries.map((e) => e.cidr)).toEqual(
      ['10.0.0.8', '192.168.0.0/24', '2001:db8:0:85a3:0:0:ac1f:8001', '203.0.113.9', '2001:db8:bad::/48']);
    // the nomatch member and comments of the other set are untouched
    expect(text).toContain('[ipset myipset]\n\n192.168.0.1 #mycomment\n172.16.0.10\n192.168.0.0/24\n! 10.0.0.0/8  #nomatch - needs kernel 3.7 or newer\n');
  });
});

describe('pve-clusterfw placement, conflicts and refusals', () => {
  it('creates the section after OPTIONS, ALIASES and IPSETs and before [RULES] and groups', async () => {
    const path = tempFw('[OPTIONS]\nenable: 1\n\n[ALIASES]\nnet 10.0.0.0/8\n\n[IPSET a]\n10.1.1.1\n\n# rules follow\n[RULES]\nIN DROP -source +dc/fail2ban\n\n[group g1]\nIN ACCEPT\n');
    await fwTarget(path).apply({ add: [entry('198.51.100.1')], remove: [] });
    const lines = readFileSync(path, 'utf8').split('\n');
    const at = (l: string) => lines.indexOf(l);
    expect(at('[IPSET fail2ban] # fail2git managed bans')).toBeGreaterThan(at('10.1.1.1'));
    expect(at('[IPSET fail2ban] # fail2git managed bans')).toBeLessThan(at('# rules follow'));
    expect(at('# rules follow')).toBe(at('[RULES]') - 1);
  });

  it('reads a lower-case [ipset Fail2ban] header as our section, and writes it back upper-case with its comment', async () => {
    const original = '[OPTIONS]\nenable: 1\n\n[ipset Fail2ban] # keep me\n\n10.0.0.1 # fail2git sshd@web1 permanent\n\n[RULES]\nIN DROP -source +dc/fail2ban\n';
    const path = tempFw(original);
    const t = fwTarget(path);
    expect(await observedKeys(t)).toEqual(['10.0.0.1']);
    expect(await t.apply({ add: [], remove: [] })).toEqual({ added: 0, removed: 0 });
    expect(readFileSync(path, 'utf8')).toBe(original);
    await t.apply({ add: [entry('10.0.0.2')], remove: [] });
    expect(readFileSync(path, 'utf8')).toBe(original.replace('[ipset Fail2ban] # keep me', '[IPSET fail2ban] # keep me')
      .replace('permanent\n', 'permanent\n10.0.0.2 # fail2git manual@testhost permanent\n'));
  });

  it('reports a bad option like every driver: TargetError E_TARGET_OPTION with the shared prefix', () => {
    expect(() => fwTarget(tempFw(), { ipSet: 'x' })).toThrow(/^target "dc" \(pve-clusterfw\): unknown option "ipSet" \(known: path, ipset,/);
    expect(() => fwTarget(tempFw(), { maxBytes: 0 })).toThrow(expect.objectContaining({ name: 'TargetError', code: 'E_TARGET_OPTION', target: 'dc', message: 'target "dc" (pve-clusterfw): option maxBytes must be a number ≥ 1' }));
  });

  it.each(['management', 'ipfilter-net0', 'Fail2ban'])('refuses to own the set %j', (ipset) => {
    expect(() => fwTarget(tempFw(), { ipset })).toThrow(/ipset/);
  });

  it('does not write a duplicate of a hand-made member', async () => {
    const original = '[OPTIONS]\nenable: 1\n\n[IPSET fail2ban]\n198.51.100.0/24 # by hand\n';
    const path = tempFw(original);
    expect(await fwTarget(path).apply({ add: [entry('198.51.100.0/24')], remove: [] })).toEqual({ added: 0, removed: 0 });
    expect(readFileSync(path, 'utf8')).toBe(original);
  });

  for (const [what, text, code] of [
    ['CRLF', '[OPTIONS]\r\nenable: 1\r\n', 'E_PVE_CRLF'],
    ['BOM', '\uFEFF[OPTIONS]\nenable: 1\n', 'E_PVE_BOM'],
    ['duplicate sections', '[OPTIONS]\nenable: 1\n[IPSET fail2ban]\n1.2.3.4\n[IPSET FAIL2BAN]\n5.6.7.8\n', 'E_PVE_DUPLICATE_SECTION'],
    // a file that is no .fw file at all (content before any header): fail2git did not write it and never edits it
    ['a passwd file', 'root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/:/usr/sbin/nologin\n', 'E_PVE_NOT_FW'],
    ['a key', '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n', 'E_PVE_NOT_FW'],
    ['text before the first header', '# comments are fine\nenable: 1\n[OPTIONS]\n', 'E_PVE_NOT_FW'],
  ] as const) {
    it(`refuses ${what} with a clear error and never writes`, async () => {
      const path = tempFw(text);
      const t = fwTarget(path);
      await expect(t.observe()).rejects.toMatchObject({ code });
      await expect(t.apply({ add: [entry('198.51.100.1')], remove: [] })).rejects.toThrow(path);
      expect(readFileSync(path, 'utf8')).toBe(text);
    });
  }

  it('refuses a result over the size margin, saying how many entries fit, and the advised count does fit', async () => {
    const path = tempFw('[OPTIONS]\nenable: 1\n');
    const t = fwTarget(path, { maxBytes: 4000 });
    const many = Array.from({ length: 200 }, (_, i) => entry(`10.0.${i}.0/24`));
    const err = (await t.apply({ add: many, remove: [] }).catch((e: unknown) => e)) as { code: string; message: string };
    expect(err).toMatchObject({ code: 'E_PVE_TOO_LARGE' });
    expect(err.message).toMatch(/ipset or nftables driver/);
    expect(readFileSync(path, 'utf8')).toBe('[OPTIONS]\nenable: 1\n');
    const fit = Number(/about (\d+) of 200/.exec(err.message)?.[1]);
    expect(fit).toBeGreaterThan(50);
    await t.apply({ add: many.slice(0, fit), remove: [] });
    expect(statSync(path).size).toBeLessThanOrEqual(4000);
    await expect(t.apply({ add: many.slice(fit, fit + 5), remove: [] })).rejects.toMatchObject({ code: 'E_PVE_TOO_LARGE' });
  });

  it('warns when the firewall is not enabled or nothing uses the set; silent when both are right', async () => {
    const off = fwTarget(tempFw('[OPTIONS]\nenable: 0\n'));
    await off.observe();
    expect(off.warnings!().join('\n')).toMatch(/not enabled[\s\S]*IN DROP -source \+dc\/fail2ban/);
    const on = fwTarget(tempFw('[OPTIONS]\nenable: 1\n[RULES]\nIN DROP -source +dc/fail2ban\n'));
    await on.observe();
    expect(on.warnings!()).toEqual([]);
    const blacklist = fwTarget(tempFw('[OPTIONS]\nenable: 1\n'), { ipset: 'blacklist' });
    await blacklist.observe();
    expect(blacklist.warnings!()).toEqual([]);
  });

  it('preserves the file mode and leaves no temp file behind', async () => {
    const path = tempFw('[OPTIONS]\nenable: 1\n');
    await fwTarget(path).apply({ add: [entry('198.51.100.1')], remove: [] });
    expect(statSync(path).mode & 0o777).toBe(0o640);
    expect(readdirSync(join(path, '..'))).toEqual(['cluster.fw']);
  });
});

describe('pve-clusterfw under the Proxmox cluster lock', () => {
  it('waits for a held lock, then writes and releases it', async () => {
    const lockDir = tmpDir('f2g-lock');
    const held = join(lockDir, 'firewall-cluster');
    mkdirSync(held);
    const path = tempFw('[OPTIONS]\nenable: 1\n');
    const t = fwTarget(path, { lockDir, lockTimeoutMs: 5000 });
    setTimeout(() => rmdirSync(held), 300);
    const started = Date.now();
    await t.apply({ add: [entry('198.51.100.1')], remove: [] });
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(existsSync(held)).toBe(false);
    expect(await observedKeys(t)).toEqual(['198.51.100.1']);
  });

  it('gives up after the timeout without writing, and releases the lock after a failed apply', async () => {
    const lockDir = tmpDir('f2g-lock');
    const held = join(lockDir, 'firewall-cluster');
    mkdirSync(held);
    const path = tempFw('[OPTIONS]\nenable: 1\n');
    const t = fwTarget(path, { lockDir, lockTimeoutMs: 200, maxBytes: 40 });
    await expect(t.apply({ add: [entry('198.51.100.1')], remove: [] })).rejects.toMatchObject({ code: 'E_PVE_LOCK_TIMEOUT' });
    expect(readFileSync(path, 'utf8')).toBe('[OPTIONS]\nenable: 1\n');
    rmdirSync(held);
    await expect(t.apply({ add: [entry('198.51.100.1')], remove: [] })).rejects.toMatchObject({ code: 'E_PVE_TOO_LARGE' });
    expect(existsSync(held)).toBe(false);
  });
});

describe('pve-clusterfw converges with files Proxmox rewrote', () => {
  it('a second run after a Proxmox rewrite (sorted, comment lines dropped, sections reordered) changes nothing', async () => {
    const original = readFileSync(join(FIXTURES, 'pve-firewall/test-ipset1/cluster.fw'), 'utf8');
    const path = tempFw(original + '[RULES]\nIN DROP -source +dc/fail2ban\n');
    const t = fwTarget(path);
    const desired = sortKeys(['203.0.113.0/24', '198.51.100.7', '2001:db8::/32', '192.0.2.44']);
    await t.apply(planFor(desired, await t.observe()));
    const rewritten = proxmoxRewrite(readFileSync(path, 'utf8'));
    expect(rewritten).not.toContain('#global ipset blacklist');
    writeFileSync(path, rewritten);
    expect(await observedKeys(t)).toEqual(desired);
    const plan = planFor(desired, await t.observe());
    expect(plan).toEqual({ add: [], remove: [] });
    expect(await t.apply(plan)).toEqual({ added: 0, removed: 0 });
    expect(readFileSync(path, 'utf8')).toBe(rewritten);
    // and a later one-entry change only touches that line
    await t.apply(planFor([...desired, '198.51.100.8'], await t.observe()));
    expect(insertedBlock(rewritten, readFileSync(path, 'utf8'))).toEqual(['198.51.100.8 # fail2git manual@testhost permanent']);
  });
});

describe('pve-clusterfw protected addresses', () => {
  it('lists management members (aliases resolved), local_network and corosync ring addresses', async () => {
    const corosync = join(tmpDir('f2g-coro'), 'corosync.conf');
    writeFileSync(corosync, 'nodelist {\n  node {\n    name: pve1\n    ring0_addr: 10.10.10.1\n    ring1_addr: fd00::1\n  }\n  node {\n    ring0_addr: pve2\n  }\n}\n');
    const fx = fwTarget(tempFw(readFileSync(join(FIXTURES, 'proxmox-firewall/tests-input/cluster.fw'), 'utf8')), { corosyncPath: corosync });
    expect(sortKeys(await fx.protectedAddresses!())).toEqual(sortKeys(['127.0.0.0/8', '198.51.100.100', '10.10.10.1', 'fd00::1']));
    const aliased = fwTarget(tempFw('[OPTIONS]\nenable: 1\n[ALIASES]\nadmin 192.0.2.10\n[IPSET management]\ndc/admin\n192.0.2.64/26\n'), { corosyncPath: corosync + '.missing' });
    expect(sortKeys(await aliased.protectedAddresses!())).toEqual(['192.0.2.10', '192.0.2.64/26']);
  });
});

describe('pve-clusterfw capacity: a full cluster.fw keeps enforcing the newest bans', () => {
  const doc = { apiVersion: 'fail2git/v1', kind: 'Target', metadata: { name: 'dc' }, spec: { driver: 'pve-clusterfw' } } as const;
  const silent = { info() {}, warn() {}, error() {} };
  const ban = (cidr: string, minute: number): DesiredEntry => ({
    ...entry(cidr), jail: 'sshd', by: 'web1', at: new Date(Date.UTC(2026, 0, 1, 0, minute)).toISOString(), expires: '2027-01-01T00:00:00Z',
  });
  const input = (desired: DesiredEntry[], previousLeftOut?: number): SyncTargetInput => ({
    desired, maxRemovePerRun: [DEFAULT_POLICY.maxRemovePerRun], dryRun: false, force: false, previousDesired: undefined, log: silent,
    ...(previousLeftOut !== undefined && { previousLeftOut }),
  });

  it('fills to the size limit with the most recent bans, and the newest land when more arrive', async () => {
    const start = '[OPTIONS]\nenable: 1\n\n[RULES]\nIN DROP -source +dc/fail2ban\n';
    const path = tempFw(start);
    const t = fwTarget(path, { maxBytes: 8000 });
    const filler = Array.from({ length: 400 }, (_, i) => ban(`10.${i >> 8}.${i & 255}.0/24`, i));
    const first = await syncTarget({ doc, target: t }, input(filler));
    expect(first.error).toBeUndefined();
    expect(first.reason).toBe('Applied');
    expect(first.leftOut).toBeGreaterThan(0);
    expect(first.entries + first.leftOut).toBe(400);
    expect(statSync(path).size).toBeLessThanOrEqual(8000);
    // the most recent fillers are the ones in the file
    const held1 = await observedKeys(t);
    expect(held1).toContain(filler[399]!.cidr);
    expect(held1).not.toContain(filler[0]!.cidr);

    const fresh = [ban('198.51.100.7', 1000), ban('2001:db8:77::/48', 1001), ban('203.0.113.9', 1002)];
    const second = await syncTarget({ doc, target: t }, input([...filler, ...fresh], first.leftOut));
    expect(second.error).toBeUndefined();
    expect(second.reason).toBe('Applied');
    const held2 = await observedKeys(t);
    for (const f of fresh) expect(held2).toContain(f.cidr);
    expect(second.leftOut).toBe(403 - second.entries);
    expect(statSync(path).size).toBeLessThanOrEqual(8000);
    // a third run changes nothing
    const third = await syncTarget({ doc, target: t }, input([...filler, ...fresh], second.leftOut));
    expect(third.reason).toBe('UpToDate');
  });

  it('a ban a hand-made member of the section already holds is not added again (the run does not fail forever)', async () => {
    const path = tempFw(FOREIGN);
    const t = fwTarget(path);
    const run = await syncTarget({ doc, target: t }, input([ban('10.9.9.9', 1), ban('192.0.2.1', 2)]));
    expect(run.error).toBeUndefined();
    expect(run).toMatchObject({ reason: 'Applied', folded: 1 });
    const text = readFileSync(path, 'utf8');
    expect(text.match(/^10\.9\.9\.9 /gm)).toHaveLength(1);
    expect(text).toMatch(/^192\.0\.2\.1 # fail2git /m);
    expect((await syncTarget({ doc, target: t }, input([ban('10.9.9.9', 1), ban('192.0.2.1', 2)]))).reason).toBe('UpToDate');
  });

  it('maxEntries caps the set the same way, and the rest come back when there is room', async () => {
    const path = tempFw('[OPTIONS]\nenable: 1\n');
    const t = fwTarget(path, { maxEntries: 2 });
    const bans = [ban('192.0.2.1', 1), ban('192.0.2.2', 2), ban('192.0.2.3', 3)];
    const run = await syncTarget({ doc, target: t }, input(bans));
    expect(run).toMatchObject({ reason: 'Applied', leftOut: 1, capacity: 2 });
    expect(await observedKeys(t)).toEqual(['192.0.2.2', '192.0.2.3']);
    // the newest expires: the oldest comes back
    const later = await syncTarget({ doc, target: t }, input(bans.slice(0, 2), 1));
    expect(later).toMatchObject({ reason: 'Applied', leftOut: 0 });
    expect(await observedKeys(t)).toEqual(['192.0.2.1', '192.0.2.2']);
  });
});
