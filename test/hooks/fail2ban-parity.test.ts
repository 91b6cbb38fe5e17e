/**
 * The two shipped actions cannot drift: for the same ticket, fail2ban's own CommandAction
 * running the `.conf`'s lines (its tag substitution and escaping, `sh` as it runs them) and
 * the in-process `fail2git.py` write byte-identical records (apart from the random file
 * name), skip the same restored tickets, and read stateDir from the same config shapes.
 * Driven from fail2ban-server's own Python, with fail2ban's real BanTicket and ActionInfo.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeLedgerRemote, REPO_ROOT, type LedgerRemote } from '../helpers/git.js';
import { makeHost, quietHosts, remoteBans, spooled, waitFor } from '../helpers/hook-host.js';
import { CLI } from '../helpers/cli.js';
import { cleanupTmp, tmpDir } from '../helpers/tmp.js';
import { fail2banAvailable, fail2banPython } from '../helpers/fail2ban.js';

const available = fail2banAvailable();

/** Runs each case through both actions; per case: whether each side succeeded (or its error). */
const DRIVER = String.raw`
import json, sys, importlib.util, re
from fail2ban.server.action import CommandAction
from fail2ban.server.actions import Actions
from fail2ban.server.ticket import BanTicket

req = json.load(sys.stdin)
conf = open(req["conf"]).read()
def line(key):
    return re.search(r"^%s = (.*)$" % key, conf, re.M).group(1)

class Jail(object):
    def __init__(self, name):
        self.name = name

spec = importlib.util.spec_from_file_location("fail2git_action", req["py"])
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
out = []
for c in req["cases"]:
    jail = Jail(c["jail"])
    def info():
        t = BanTicket(c["ip"], c["time"])
        t.setBanTime(c["bantime"])
        t.setBanCount(c["bancount"])
        t.setAttempt(c["failures"])
        t.restored = bool(c["restored"])
        return Actions.ActionInfo(t, jail)
    res = {}
    sh = CommandAction(jail, "fail2git")
    for k in ("actionban", "actionprolong", "actionunban"):
        setattr(sh, k, line(k))
    sh.fail2git = req["fail2git"]
    sh.config = c["shconfig"]
    sh.name = jail.name  # what fail2ban's ActionReader sets when the jail gives no name
    if c["op"] == "unban":
        sh._CommandAction__started[info().get("family", "")] = 3  # as after its ban since the jail started
    try:
        getattr(sh, c["op"])(info())
        res["sh"] = "ok"
    except Exception as e:
        res["sh"] = "error"
    py = mod.Action(jail, "fail2git", config=c["pyconfig"], fail2git=req["fail2git"])
    try:
        getattr(py, c["op"])(info())
        res["py"] = "ok"
    except Exception as e:
        res["py"] = "error"
    out.append(res)
json.dump(out, sys.stdout)
`;

interface Case {
  what: string;
  op: 'ban' | 'prolong' | 'unban';
  ip: string;
  jail?: string;
  time?: number;
  bantime?: number;
  bancount?: number;
  failures?: number;
  restored?: number;
  /** the host config, `STATE` standing for the side's stateDir */
  config?: string;
}

const CASES: Case[] = [
  { what: 'a ban', op: 'ban', ip: '203.0.113.7', time: 1764760000.123456, bantime: 600, bancount: 3, failures: 7 },
  { what: 'a permanent ban', op: 'ban', ip: '203.0.113.8', bantime: -1 },
  { what: 'a prolong', op: 'prolong', ip: '203.0.113.9', bantime: 7200, bancount: 2 },
  { what: 'a permanent prolong', op: 'prolong', ip: '203.0.113.10', bantime: -1 },
  { what: 'an unban', op: 'unban', ip: '203.0.113.11', bantime: 600 },
  { what: 'an unban of a restored ban', op: 'unban', ip: '203.0.113.12', restored: 1 },
  { what: 'a restored ban (nothing written)', op: 'ban', ip: '203.0.113.13', restored: 1 },
  { what: 'a restored prolong (nothing written)', op: 'prolong', ip: '203.0.113.14', restored: 1 },
  { what: 'an IPv6 ban, a whole-second time', op: 'ban', ip: '2001:db8::1', time: 1764760000 },
  { what: 'a raw value with shell metacharacters (escaped by fail2ban, data in the record)', op: 'ban', ip: `203.0.113.66;$(echo)\`echo\`'"x|y&*?~<>^()[]{}#` },
  { what: 'a jail name with dots and dashes', op: 'ban', ip: '203.0.113.15', jail: 'nginx-http.auth' },
  { what: 'stateDir after comments and a commented-out one', op: 'ban', ip: '203.0.113.20', config: '# host config\n# stateDir: /nonexistent/old\n\nremote: /x\nstateDir: STATE\nhost: h\n' },
  { what: 'stateDir last, without a final newline', op: 'ban', ip: '203.0.113.21', config: 'remote: /x\nstateDir: STATE' },
  { what: 'stateDir indented, extra spaces, a trailing colon', op: 'ban', ip: '203.0.113.22', config: '   stateDir :   STATE:  \n' },
  { what: 'the first of two stateDir lines', op: 'ban', ip: '203.0.113.23', config: 'stateDir: STATE\nstateDir: /nonexistent/second\n' },
  { what: 'a quoted stateDir (not a plain path: the node hook, absent here)', op: 'ban', ip: '203.0.113.24', config: 'stateDir: "STATE"\n' },
  { what: 'a relative stateDir (the node hook, absent here)', op: 'ban', ip: '203.0.113.25', config: 'stateDir: state\n' },
  { what: 'a stateDir with a comment after it (the node hook, absent here)', op: 'ban', ip: '203.0.113.26', config: 'stateDir: STATE # here\n' },
  { what: 'CRLF line ends (the node hook, absent here)', op: 'ban', ip: '203.0.113.27', config: 'stateDir: STATE\r\nhost: h\r\n' },
  { what: 'an empty stateDir line before the real one (not a plain path: the node hook, absent here)', op: 'ban', ip: '203.0.113.29', config: 'stateDir:\nstateDir: STATE\n' },
  { what: 'a tab after the colon (the node hook, absent here)', op: 'ban', ip: '203.0.113.28', config: 'stateDir:\tSTATE\n' },
];

function side(dir: string, c: Case): { config: string; spool: string } {
  const state = join(dir, 'state');
  const spool = join(state, 'spool');
  mkdirSync(spool, { recursive: true });
  const config = join(dir, 'config.yaml');
  writeFileSync(config, (c.config ?? 'remote: /x\nhost: h\nstateDir: STATE\n').replaceAll('STATE', state));
  return { config, spool };
}

function records(spool: string): string[] {
  if (!existsSync(spool)) return [];
  return readdirSync(spool).map((n) => {
    expect(n).toMatch(/^[0-9a-f]{32}\.f2b$/); // no temp file left, the name the flusher reads
    return readFileSync(join(spool, n), 'latin1');
  });
}

describe.skipIf(!available)('fail2git.conf (through fail2ban\'s CommandAction and sh) and fail2git.py write the same records', () => {
  afterAll(() => cleanupTmp());

  it('for every case: the same outcome and byte-identical records', () => {
    const sides = CASES.map((c) => ({ sh: side(tmpDir('f2g-parity-sh'), c), py: side(tmpDir('f2g-parity-py'), c) }));
    const req = {
      conf: join(REPO_ROOT, 'hooks', 'fail2ban', 'fail2git.conf'),
      py: join(REPO_ROOT, 'hooks', 'fail2ban', 'fail2git.py'),
      fail2git: '/nonexistent/fail2git', // no node hook and no flusher: only what the actions themselves write
      cases: CASES.map((c, i) => ({
        op: c.op, ip: c.ip, jail: c.jail ?? 'sshd', time: c.time ?? Date.now() / 1000, bantime: c.bantime ?? 600,
        bancount: c.bancount ?? 1, failures: c.failures ?? 3, restored: c.restored ?? 0,
        shconfig: sides[i]!.sh.config, pyconfig: sides[i]!.py.config,
      })),
    };
    const r = spawnSync(fail2banPython(), ['-c', DRIVER], { input: JSON.stringify(req), encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const outcomes = JSON.parse(r.stdout) as { sh: string; py: string }[];
    const got = CASES.map((c, i) => ({ what: c.what, outcome: outcomes[i]!.py, records: records(sides[i]!.py.spool) }));
    const want = CASES.map((c, i) => ({ what: c.what, outcome: outcomes[i]!.sh, records: records(sides[i]!.sh.spool) }));
    expect(got).toEqual(want);
    // and the cases say what they claim: records where there should be, none where there should not
    const written = got.filter((g) => g.records.length === 1).map((g) => g.what);
    expect(written).toHaveLength(CASES.length - 2 - 6);
    expect(got.find((g) => g.what === 'a permanent prolong')!.records[0]).toMatch(/^fail2git-hook 1\nop prolong\njail sshd\nbantime -1\ntime \d+(\.\d+)?\nrestored 0\nbancount 1\nfailures 3\nip 203\.0\.113\.10\nend\n$/);
    expect(got.find((g) => g.what === 'a ban')!.records[0]).toContain('\ntime 1764760000.123456\n');
  });
});

/** fail2git.py alone, in fail2ban's Python with fail2ban's real tickets: steps, each's outcome, and what it logged. */
const STEPS = String.raw`
import json, logging, os, signal, sys, time, importlib.util
from fail2ban.server.actions import Actions
from fail2ban.server.ticket import BanTicket
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(levelname)s %(message)s")
req = json.load(sys.stdin)
class Jail(object):
    name = "sshd"
spec = importlib.util.spec_from_file_location("fail2git_action", req["py"])
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
action = mod.Action(Jail(), "fail2git", config=req["config"], fail2git=req["fail2git"])
out = []
for s in req["steps"]:
    if s.get("kill"):
        time.sleep(0.3)  # it has started
        pid = int(open(s["kill"]).read().split()[0])
        os.kill(pid, signal.SIGTERM)
        time.sleep(0.3)  # dead, and not reaped by anyone but us
        out.append({"killed": pid})
        continue
    t = BanTicket(s["ip"], time.time())
    t.setBanTime(600)
    try:
        getattr(action, s["op"])(Actions.ActionInfo(t, Jail()))
        out.append({"ok": True})
    except Exception as e:
        out.append({"ok": False, "error": str(e)})
json.dump(out, sys.stdout)
`;

function steps(config: string, fail2git: string, list: ({ op: string; ip: string } | { kill: string })[]) {
  const req = { py: join(REPO_ROOT, 'hooks', 'fail2ban', 'fail2git.py'), config, fail2git, steps: list };
  const r = spawnSync(fail2banPython(), ['-c', STEPS], { input: JSON.stringify(req), encoding: 'utf8', timeout: 120_000 });
  expect(r.status, r.stderr).toBe(0);
  return { results: JSON.parse(r.stdout) as { ok?: boolean; error?: string; killed?: number }[], log: r.stderr.split('\n').filter(Boolean) };
}

describe.skipIf(!available)('fail2git.py on its own', () => {
  let remote: LedgerRemote;
  beforeAll(() => {
    remote = makeLedgerRemote();
  });
  afterAll(async () => {
    await quietHosts();
    cleanupTmp();
  });

  it('no spool yet: it runs the node hook (an argument list), which records the ban; one WARNING line for the reason, not one per ban', async () => {
    const host = makeHost(remote.bare, 'pyfirst');
    expect(existsSync(host.spool)).toBe(false);
    const { results, log } = steps(host.config, `${process.execPath} ${CLI}`, [{ op: 'ban', ip: '203.0.113.80' }]);
    expect(results).toEqual([{ ok: true }]);
    expect(log).toEqual([expect.stringMatching(/^WARNING fail2git: cannot write the ban record of 203\.0\.113\.80 \(No such file or directory\); running the node hook instead$/)]);
    await waitFor('ban on remote', () => remoteBans(remote.bare).some((b) => b.cidr === '203.0.113.80'), 60_000);
    // The same reason again (a host whose stateDir cannot be written): no second line.
    const other = makeHost(remote.bare, 'pyrel');
    writeFileSync(other.config, `remote: ${remote.bare}\nhost: pyrel\nstateDir: relative/state\n`);
    const again = steps(other.config, '/nonexistent/fail2git', [{ op: 'ban', ip: '203.0.113.81' }, { op: 'unban', ip: '203.0.113.81' }]);
    expect(again.log.filter((l) => l.startsWith('WARNING'))).toHaveLength(1);
    // and with no node hook either, fail2ban gets one sentence saying what is lost
    expect(again.results).toEqual([
      { ok: false, error: expect.stringMatching(/^fail2git: the ban of 203\.0\.113\.81 is not recorded: cannot run \/nonexistent\/fail2git \(.*No such file or directory.*\)$/) },
      { ok: false, error: expect.stringMatching(/^fail2git: the unban of 203\.0\.113\.81 is not recorded: /) },
    ]);
  }, 120_000);

  it('starts one resident flusher for a burst, detached (its own session, stdin /dev/null), and a new one once that one is gone (a dead child never looks alive)', () => {
    const host = makeHost(remote.bare, 'pyburst');
    mkdirSync(host.spool, { recursive: true });
    const starts = join(host.stateDir, 'starts');
    const fake = join(host.stateDir, 'slow-fail2git');
    // A flusher that never takes watch.lock: records its start, its session and its stdin, then waits.
    writeFileSync(fake, `#!/bin/sh\necho "$* sid=$(cut -d' ' -f6 /proc/$$/stat) pid=$$ stdin=$(readlink /proc/$$/fd/0)" >> ${starts}\nexec sleep 30\n`, { mode: 0o755 });
    const watchStart = join(host.stateDir, 'watch.start');
    const { results } = steps(host.config, fake, [
      ...Array.from({ length: 5 }, (_, i) => ({ op: 'ban', ip: `203.0.113.${110 + i}` })),
      { kill: watchStart },
      { op: 'ban', ip: '203.0.113.120' },
      { kill: watchStart },
    ]);
    expect(results.filter((r) => r.ok === true)).toHaveLength(6);
    expect(spooled(host)).toHaveLength(6);
    const lines = readFileSync(starts, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(2);
    for (const l of lines) {
      expect(l).toMatch(new RegExp(`^flush --watch --idle-exit=600 --config=${host.config.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} sid=(\\d+) pid=\\1 stdin=/dev/null$`));
    }
  }, 120_000);
});
