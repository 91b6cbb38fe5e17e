/**
 * Every error a ledger, an API, a kernel tool or a file can provoke is a sentence about that
 * thing, never a JS engine message. This sweeps garbage through every parser and driver:
 * ledger documents of every kind (truncated, deeply nested, wrong types, huge numbers,
 * binary), Proxmox API answers through the HTTPS emulator (null, truncated JSON, wrong
 * shapes), kernel tool listings (ipset, nft, ip route) fed to the drivers, host config
 * files, spool files, fleet records and the reconciler's state files. Each either copes
 * (a problem, a refusal, a file set aside) or fails with a typed error whose one-line
 * message names the thing, and no JS error name or text appears anywhere.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseLedgerFiles } from '../../controller/ledger/load.js';
import { formatProblem, LEDGER_FILES } from '../../controller/ledger/types.js';
import { Fail2gitError } from '../../controller/lib/errors.js';
import type { Runner } from '../../controller/lib/exec.js';
import { createIpset } from '../../controller/targets/ipset.js';
import { createNftables } from '../../controller/targets/nftables.js';
import { createRoute } from '../../controller/targets/route.js';
import { createPveApi } from '../../controller/targets/pve-api.js';
import { createPveClusterFw } from '../../controller/targets/pve-clusterfw.js';
import { createFile } from '../../controller/targets/file.js';
import type { Target } from '../../controller/targets/types.js';
import { parseHostConfigText } from '../../controller/config/validate.js';
import { parseFleetRecord } from '../../controller/fleet/record.js';
import { listOperations, listRefused } from '../../hooks/spool.js';
import { readStatus } from '../../controller/status/run-status.js';
import { readLastGood, readLedgerSnapshot, readGuardBaseline } from '../../controller/reconcile/last-good.js';
import { readDesiredCache } from '../../controller/desired/cache.js';
import { readGuard } from '../../hooks/guard-cache.js';
import { PveEmulator } from '../helpers/pve-emulator.js';
import { cleanupTmp, tmpDir } from '../helpers/tmp.js';
import { testDeps } from '../helpers/target-deps.js';
import { rng } from '../helpers/rng.js';
import { parseIpAddrJson } from '../../controller/desired/protected.js';
import { parseList } from '../../controller/targets/file-format.js';
import { parseFlatConfig } from '../../controller/config/flat-reader.js';
import { failedRestoreLine, parseSavedSet, parseSetHeader } from '../../controller/targets/ipset-format.js';
import { failedBatchLines, parseIpRouteJson } from '../../controller/targets/route-format.js';
import { parseNftTable } from '../../controller/targets/nftables-format.js';
import { splitFw, parseAliases, parseIpsetLine } from '../../controller/targets/pve/fw-text.js';

afterAll(cleanupTmp);

/** What a JS engine says, never what fail2git says. */
const ENGINE = /Cannot read propert|Cannot set propert|Cannot convert|is not iterable|is not a function|is not an object|is not defined|Maximum call stack|Unexpected token|Unexpected end of JSON|Unexpected non-whitespace|in JSON at position|Bad control character|\bundefined\b|\[object Object\]|TypeError|RangeError|SyntaxError|ReferenceError|\bNaN\b/;

const deep = (n: number, open: string, close: string): string => open.repeat(n) + close.repeat(n);

/** Garbage any text-reading parser gets: truncations, wrong JSON shapes, binary, nesting. */
function garbageTexts(valid: string[]): string[] {
  const out = [
    '', ' ', '\n', 'null', 'true', '0', '-1', '1e400', '"x"', '[]', '{}', '[null]', '[1]', '[[]]', '{"a":', '[{', '{"', '}', ']',
    'undefined', 'NaN', '\u0000\u0001\u00ff', '\ufffd\ufffd', '<html><body>502 Bad Gateway</body></html>', 'Error: permission denied',
    deep(5000, '[', ']'), deep(5000, '{"a":', '}').replace(/}+$/, (m) => '1' + m), '9'.repeat(400), `"${'x'.repeat(100_000)}"`,
    '{"nftables": null}', '{"nftables": [null, 1, "x", {"set": null}, {"set": 5}, {"set": {"name": "v4", "elem": 5}}, {"chain": null}, {"rule": {"expr": null}}, {"table": {"flags": null}}]}',
    '{"nftables": {"set": {}}}', '{"nftables": [{"set": {"name": "v4", "type": "ipv4_addr", "flags": ["interval"], "elem": [null, 1, {"prefix": null}, {"prefix": {"addr": 5, "len": "x"}}, {"range": [null]}, {"elem": {"val": null}}]}}]}',
    '[{"dst": null}, {"dst": 5}, {"dst": {"a": 1}}, {"dst": "10.0.0.0/8", "type": 5, "metric": "x"}, null, 1, "x"]', '{"dst": "10.0.0.1"}',
    'create fail2git-v4\nadd fail2git-v4\nadd fail2git-v4 ' + 'x'.repeat(1000), 'create fail2git-v4 hash:net family inet maxelem x timeout y\nadd fail2git-v4 300.1.1.1\n',
    'Name: fail2git-v4\nType:\nHeader:\nSize in memory: x\nMembers:\n',
  ];
  const r = rng(13);
  for (const v of valid) {
    for (let i = 0; i < 12; i++) out.push(v.slice(0, Math.floor(r() * v.length)));
    const bytes = [...v];
    for (let i = 0; i < 6; i++) {
      const m = [...bytes];
      for (let k = 0; k < 4; k++) m[Math.floor(r() * m.length)] = String.fromCharCode(Math.floor(r() * 128));
      out.push(m.join(''));
    }
  }
  return out;
}

/** Engine text in a message, outside the quoted values it echoes (a reason may say "undefined"). */
function engineText(message: string): string | undefined {
  return ENGINE.exec(message.replace(/"(?:[^"\\]|\\.)*"/g, '"…"'))?.[0];
}

/** Why a failure is not ours (typed, one line, naming `what`, no engine text), or undefined. */
function notOurs(err: unknown, what: RegExp): string | undefined {
  const message = err instanceof Error ? err.message : String(err);
  if (!(err instanceof Fail2gitError || /^E_[A-Z0-9_]+$/.test(String((err as { code?: unknown })?.code)))) return `untyped ${(err as Error)?.name ?? typeof err}: ${message}`;
  const engine = engineText(message);
  if (engine) return `engine text "${engine}": ${message}`;
  if (message.includes('\n')) return `more than one line: ${message}`;
  if (!what.test(message)) return `does not name ${what}: ${message}`;
  return undefined;
}

/** Collects what is wrong, so one run lists every finding. */
class Findings {
  readonly list: string[] = [];
  error(label: string, err: unknown, what: RegExp): void {
    const why = notOurs(err, what);
    if (why) this.list.push(`${label}: ${why.slice(0, 300)}`);
  }
  text(label: string, text: string): void {
    const engine = engineText(text);
    if (engine || text.includes('\n')) this.list.push(`${label}: ${text.slice(0, 300)}`);
  }
  uniqueCount(): string[] {
    return [...new Set(this.list)];
  }
}

async function settle(p: () => Promise<unknown> | unknown): Promise<unknown> {
  try {
    await p();
    return undefined;
  } catch (err) {
    return err ?? new Error('thrown nothing');
  }
}

describe('garbage ledger documents', () => {
  const head = (kind: string, key: string) => `apiVersion: fail2git/v1\nkind: ${kind}\n${key}:\n`;
  const VALID: Record<string, string> = {
    [LEDGER_FILES.bans]: `${head('BanList', 'bans')}  - {cidr: 192.0.2.1, expires: 2026-11-22T09:00:00Z, at: 2026-11-22T08:00:00Z, by: web1, jail: sshd, count: 2}\n  - {cidr: "2001:db8::/48", reason: "x, y"}\n`,
    [LEDGER_FILES.allow]: `${head('AllowList', 'allow')}  - {cidr: 192.0.2.0/28, reason: mgmt}\n`,
    [LEDGER_FILES.policy]: 'apiVersion: fail2git/v1\nkind: Policy\nspec: {defaultTtl: 1h, maxRemovePerRun: 10%, escalation: {factor: 2, maxTtl: 7d}, broadestPrefix: {ipv4: 16, ipv6: 32}}\n',
    [LEDGER_FILES.targets]: 'apiVersion: fail2git/v1\nkind: Target\nmetadata: {name: k}\nspec: {driver: ipset, hosts: ["gw*"], options: {setName: f2g}}\n',
  };
  const wrongTypes = (file: string): string[] => {
    const key = file === LEDGER_FILES.bans ? 'bans' : file === LEDGER_FILES.allow ? 'allow' : 'spec';
    const kind = file === LEDGER_FILES.bans ? 'BanList' : file === LEDGER_FILES.allow ? 'AllowList' : file === LEDGER_FILES.policy ? 'Policy' : 'Target';
    const doc = (v: string) => `apiVersion: fail2git/v1\nkind: ${kind}\n${key}: ${v}\n`;
    return [
      doc('null'), doc('5'), doc('"x"'), doc('[null, 1, x, [1], {}]'), doc('{a: 1}'), doc('[{cidr: [1]}, {cidr: {a: 1}}, {cidr: null}, {cidr: 1e400}, {cidr: 99999999999999999999}]'),
      doc('[{cidr: 192.0.2.1, expires: 12345, at: [1], count: 1e400, by: {a: 1}, jail: null, reason: [x]}]'),
      doc('{defaultTtl: [1], maxRemovePerRun: {a: 1}, escalation: 5, broadestPrefix: {ipv4: 1e400, ipv6: -1}, maxTtl: null}'),
      doc('{driver: [ipset], hosts: 5, options: [1]}'), doc('{driver: pve-api, options: {url: 5, tokenId: [1], fingerprint: null, maxEntries: 1e400}}'),
      `apiVersion: [1]\nkind: {a: ${kind}}\n`, 'kind: 5\n', '- 1\n- 2\n', `${doc('[]')}metadata: 5\n`, `${doc('[]')}metadata: {name: [x]}\n`,
      doc(`${deep(100, '[', ']')}`), `${'  '.repeat(0)}${doc('')}${Array.from({ length: 100 }, (_, i) => `${' '.repeat(i + 2)}k:`).join('\n')} 1\n`,
      doc(`!!binary aGVsbG8=`), doc(`!!timestamp 2026-01-01`), doc('!custom 5'), doc('&a [1]'), `${doc('[]')}? [complex, key]\n: 1\n`,
    ];
  };

  for (const file of Object.values(LEDGER_FILES)) {
    it(`${file}: every garbage document gives positioned problems about the file, no engine text`, () => {
      const texts = [...garbageTexts([VALID[file]!]), ...wrongTypes(file)];
      const binary = [Buffer.from([0xff, 0xfe, 0x00, 0x41]), Buffer.from([0xc0, 0x80]), Buffer.from('apiVersion: fail2git/v1\nkind: \xed\xa0\x80\n', 'latin1'), Buffer.alloc(4096, 0x00)];
      const found = new Findings();
      for (const input of [...texts, ...binary]) {
        const label = `${file} ← ${JSON.stringify(String(input).slice(0, 80))}`;
        try {
          const result = parseLedgerFiles({ [file]: input }, { dir: '/l' });
          for (const p of [...result.problems, ...(result.warnings ?? [])]) {
            const line = formatProblem(p);
            if (!/^bans\/[a-z]+\.yaml:\d+:\d+: \S/.test(line)) found.list.push(`${label}: not file:line:col: ${line}`);
            found.text(label, line);
          }
        } catch (e) {
          found.list.push(`${label}: threw ${String((e as Error)?.message ?? e).slice(0, 200)}`);
        }
      }
      expect(found.uniqueCount()).toEqual([]);
    }, 120_000);
  }
});

describe('garbage from kernel tools, fed to the drivers', () => {
  /** A runner answering every command with `stdout`, as a kernel tool that printed garbage. */
  const printing = (stdout: string): Runner => async () => ({ stdout, stderr: '' });
  const drivers: [string, (run: Runner) => Target, RegExp][] = [
    ['ipset', (run) => createIpset('kern-ipset', { setName: 'fail2git' }, testDeps(run)), /ipset|kern-ipset/],
    ['nftables', (run) => createNftables('kern-nft', { table: 'fail2git' }, testDeps(run)), /nft|kern-nft/],
    ['route', (run) => createRoute('kern-route', {}, testDeps(run)), /\bip\b|route|kern-route/],
  ];
  for (const [driver, make, what] of drivers) {
    it(`${driver}: observe and apply either cope or say what the tool printed wrong`, async () => {
      const found = new Findings();
      for (const stdout of garbageTexts(['{"nftables": [{"metainfo": {"version": "1.0.6"}}, {"table": {"family": "inet", "name": "fail2git", "handle": 1}}, {"set": {"family": "inet", "name": "v4", "table": "fail2git", "type": "ipv4_addr", "flags": ["interval"], "elem": [{"prefix": {"addr": "10.0.0.0", "len": 8}}, "192.0.2.1"]}}]}',
        '[{"dst":"192.0.2.1","type":"blackhole","protocol":"250","scope":"global","flags":[]},{"dst":"10.0.0.0/8","type":"blackhole"}]',
        'create fail2git-v4 hash:net family inet hashsize 1024 maxelem 65536\nadd fail2git-v4 192.0.2.1\nadd fail2git-v4 10.0.0.0/8\n'])) {
        const target = make(printing(stdout));
        const label = `${driver} ← ${JSON.stringify(stdout.slice(0, 80))}`;
        const err = await settle(async () => {
          await target.observe();
          await target.apply({ add: [{ cidr: '198.51.100.7', family: 4 }], remove: [] });
        });
        if (err !== undefined) found.error(label, err, what);
        await target.close?.();
      }
      expect(found.uniqueCount()).toEqual([]);
    }, 120_000);
  }
});

describe('garbage fed to the pure listing and file parsers', () => {
  it('ip -j addr, ipset save/list, ip -j route, nft -j, target lists, the flat host config, cluster.fw lines: no engine text', () => {
    const found = new Findings();
    const parsers: [string, (t: string) => unknown, RegExp][] = [
      ['ip -j addr', parseIpAddrJson, /./], ['ipset save', (t) => parseSavedSet(t, 'fail2git-v4', 4), /ipset/], ['ipset list -t', parseSetHeader, /ipset/],
      ['ipset restore stderr', failedRestoreLine, /ipset/], ['ip -j route', parseIpRouteJson, /ip -j route/], ['ip -batch stderr', (t) => failedBatchLines(t, ['route add blackhole 10.0.0.1 proto 250']), /ip/],
      // (parseNftTable throws SyntaxError on text that is not JSON by contract: the driver then
      // reads the text listing to explain it; the driver sweep above covers that path)
      ['nft -j list', (t) => { try { JSON.parse(t); } catch { return undefined; } return parseNftTable(t); }, /nft/], ['list.txt', (t) => parseList(t, 'txt'), /./], ['list.json', (t) => parseList(t, 'json'), /./],
      ['flat config', parseFlatConfig, /./], ['cluster.fw', (t) => { const d = splitFw(t); parseAliases(d); for (const l of t.split('\n')) parseIpsetLine(l); return d; }, /./],
    ];
    const samples = ['[{"ifindex":1,"ifname":"lo","addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8}]}]', '[{"addr_info": null}, {"addr_info": 5}, {"addr_info": [null, 5, {"local": 5}]}]',
      'ipset v7.17: Error in line 3: Syntax error: \'x\' is not a valid IPv4 address\n', 'Error: any valid prefix is expected rather than "x".\nCommand failed -:1\n',
      '{"bans": [null, 5, {"cidr": null}, {"cidr": [1]}, {"cidr": "10.0.0.1", "by": 5}]}', 'remote: x\nhost: [a\nstateDir: {\n'];
    for (const text of garbageTexts(samples)) {
      for (const [name, parse, what] of parsers) {
        const label = `${name} ← ${JSON.stringify(text.slice(0, 60))}`;
        try {
          const out = parse(text);
          const problems = (out as { problems?: unknown } | undefined)?.problems;
          if (Array.isArray(problems)) for (const p of problems) found.text(label, String(p));
        } catch (e) {
          found.error(label, e, what);
        }
      }
    }
    expect(found.uniqueCount()).toEqual([]);
  });
});

describe('garbage answers from the Proxmox API', () => {
  const TOKEN = 'sync@pve!ipset';
  const SECRET = randomUUID();
  let emu: PveEmulator | undefined;
  afterEach(async () => emu?.close());

  const ANSWERS: { body: string; status?: number }[] = [
    { body: '' }, { body: 'null' }, { body: '{"data": null}' }, { body: '{"data": 5}' }, { body: '{"data": "x"}' }, { body: '{"data": {}}' },
    { body: '{"data": [null, 1, "x", {}, {"cidr": 5}, {"cidr": null, "comment": 5}, {"cidr": "not-an-ip", "comment": "fail2git x"}, {"cidr": "10.0.0.1", "comment": ["fail2git"], "nomatch": "yes"}]}' },
    { body: '{"data": [{"cidr": "10.0.0.1", "comment": "fail2git x", "digest": 5}]' }, { body: '{"da' }, { body: '[' }, { body: '<html>502</html>' },
    { body: '{"data": ' + deep(3000, '[', ']') + '}' }, { body: '{"data": [' + '{"cidr": "10.0.0.1"},'.repeat(3) + '}' },
    { status: 500, body: 'null' }, { status: 500, body: '{"data": null, "message": 5, "errors": 7}' }, { status: 400, body: '{"errors": {"cidr": null}}' },
    { status: 400, body: '{"errors": [1, 2]}' }, { status: 401, body: '' }, { status: 599, body: '{"message": {"a": 1}}' },
  ];

  it('pve-api: each answer becomes "pve-api …: unexpected answer to GET/POST …" or a Proxmox error, never engine text', async () => {
    emu = await PveEmulator.start({ tokens: { [TOKEN]: { secret: SECRET, privs: ['Sys.Audit', 'Sys.Modify'] } }, authFailDelayMs: 1 });
    const secretFile = join(tmpDir('f2g-garbage-secret'), 'token');
    writeFileSync(secretFile, `${SECRET}\n`, { mode: 0o600 });
    const found = new Findings();
    for (const answer of ANSWERS) {
      for (const method of ['GET', 'POST'] as const) {
        const target = createPveApi('dc-api', { url: emu.url, tokenId: TOKEN, tokenSecretFile: secretFile, fingerprint: emu.fingerprint256, retryBaseMs: 1, retries: 0 }, testDeps(async () => ({ stdout: '', stderr: '' })));
        emu.inject({ kind: 'answer', times: 1, method, ...answer });
        const label = `${method} answered ${answer.status ?? 200} ${JSON.stringify(answer.body.slice(0, 60))}`;
        const err = await settle(async () => {
          await target.observe();
          await target.apply({ add: [{ cidr: '198.51.100.7', family: 4 }], remove: [] });
        });
        // a fault not taken (its method never called) must not leak into the next round
        (emu as unknown as { faults: unknown[] }).faults.length = 0;
        if (err !== undefined) found.error(label, err, /\/cluster\/firewall\/ipset/);
        await target.close?.();
      }
    }
    expect(found.uniqueCount()).toEqual([]);
  }, 180_000);
});

describe('garbage files', () => {
  it('pve-clusterfw and file targets: a garbage file on disk is refused with its path, or read as foreign content', async () => {
    const found = new Findings();
    for (const text of garbageTexts(['[OPTIONS]\nenable: 1\n\n[IPSET fail2ban] # fail2git managed bans\n192.0.2.1 # fail2git x\n', '# fail2git list\n192.0.2.1\n10.0.0.0/8\n'])) {
      const dir = tmpDir('f2g-garbage-file');
      const fw = join(dir, 'cluster.fw');
      const list = join(dir, 'list.txt');
      writeFileSync(fw, text);
      writeFileSync(list, text);
      const deps = testDeps(async () => ({ stdout: '', stderr: '' }));
      for (const [target, path] of [
        [createPveClusterFw('dc', { path: fw, ipset: 'fail2ban' }, deps), fw],
        [createFile('url', { path: list, format: 'txt' }, deps), list],
        [createFile('urljson', { path: list, format: 'json' }, deps), list],
      ] as const) {
        const err = await settle(async () => {
          await target.observe();
          await target.apply({ add: [{ cidr: '198.51.100.7', family: 4 }], remove: [] });
        });
        if (err !== undefined) found.error(`${target.name} ← ${JSON.stringify(text.slice(0, 60))}`, err, new RegExp(path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')));
      }
    }
    expect(found.uniqueCount()).toEqual([]);
  }, 120_000);

  it('host config: garbage text is refused with the config path', async () => {
    const found = new Findings();
    for (const text of [...garbageTexts(['remote: git@example.com:ops/ledger.git\nhost: web1\nstateDir: /var/lib/fail2git\ninterval: 30s\n']),
      'remote: [1]\nhost: {a: 1}\n', 'remote: x\nhost: web1\nstateDir: 5\ninterval: [1]\nwritablePaths: 5\npveCredentials: [null]\n', 'host: web1\nremote: x\npveCredentials: {a: null, b: 5}\n',
      `a: ${deep(1000, '[', ']')}\n`]) {
      const err = await settle(() => parseHostConfigText(text, '/etc/fail2git/config.yaml'));
      if (err !== undefined) found.error(`config ← ${JSON.stringify(text.slice(0, 60))}`, err, /\/etc\/fail2git\/config\.yaml/);
    }
    expect(found.uniqueCount()).toEqual([]);
  });

  it('fleet records: every garbage record is refused with one sentence', () => {
    const found = new Findings();
    const valid = JSON.stringify({ version: 1, host: 'web1', targets: { k: { entries: 3 } }, interval: '30s', software: 'x', seen: '2026-11-22T08:00:00Z' });
    for (const raw of [...garbageTexts([valid]), '{"version":1,"host":"web1","targets":null,"interval":"30s"}', '{"version":1,"host":"web1","targets":{"k":null},"interval":"30s"}',
      '{"version":1,"host":"web1","targets":{"k":{"entries":"x","error":5}},"interval":"30s"}', '{"version":1,"host":"web1","targets":[],"interval":"1e400s"}']) {
      const label = `fleet ← ${JSON.stringify(raw.slice(0, 60))}`;
      try {
        const out = parseFleetRecord(raw, 'web1');
        if ('problem' in out) found.text(label, out.problem);
      } catch (e) {
        found.list.push(`${label}: threw ${String((e as Error)?.message ?? e)}`);
      }
    }
    expect(found.uniqueCount()).toEqual([]);
  });

  it('spool: garbage operation files are set aside, never thrown', () => {
    const spool = tmpDir('f2g-garbage-spool');
    const texts = garbageTexts([JSON.stringify({ v: 1, id: '1700000000000-web1-abcd', op: 'ban', cidr: '192.0.2.1', at: '2026-11-22T08:00:00Z' })]);
    texts.forEach((t, i) => writeFileSync(join(spool, `${1700000000000 + i}-web1-${String(i).padStart(8, '0')}.json`), t));
    mkdirSync(join(spool, 'refused'), { recursive: true });
    texts.forEach((t, i) => writeFileSync(join(spool, 'refused', `${1700000000000 + i}-web1-${String(i).padStart(8, '0')}.json`), t));
    expect(() => listOperations(spool)).not.toThrow();
    expect(() => listRefused(spool)).not.toThrow();
    expect(readdirSync(spool).filter((n) => n.endsWith('.json'))).toEqual([]);
  });

  it("the reconciler's and the hook's state files: garbage reads as absent or as a sentence naming the file", async () => {
    const found = new Findings();
    for (const text of garbageTexts(['{"rev":"0123456789abcdef0123456789abcdef01234567","at":"2026-11-22T08:00:00Z"}'])) {
      const stateDir = tmpDir('f2g-garbage-state');
      for (const f of ['status.json', 'last-good.json', 'guard-limits.json', 'desired-cache.json', 'guard.json', 'last-good-ledger.json']) writeFileSync(join(stateDir, f), text);
      for (const [name, read] of [
        ['status', () => readStatus(stateDir)], ['last-good', () => readLastGood(stateDir)], ['snapshot', () => readLedgerSnapshot(stateDir, '0123456789abcdef0123456789abcdef01234567')],
        ['guard-baseline', () => readGuardBaseline(stateDir)], ['desired-cache', () => readDesiredCache(stateDir, 'x')], ['guard', () => readGuard(stateDir)],
      ] as const) {
        const err = await settle(read);
        if (err !== undefined) found.error(`${name} ← ${JSON.stringify(text.slice(0, 60))}`, err, new RegExp(stateDir));
      }
    }
    expect(found.uniqueCount()).toEqual([]);
  });
});
