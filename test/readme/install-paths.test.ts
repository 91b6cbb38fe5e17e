/**
 * The README's install paths, run as written. Every command comes from README.md (the fenced
 * blocks under each "## Install" heading, read at run time), rewritten only by `sandboxed()`:
 * host paths (/etc/, /usr/local/, /var/lib/, /var/www/) move under a temp root and the example
 * remote becomes a real bare repository. The steps run in order, as a newcomer would:
 * install → ledger → fail2ban host → enforcing host (Linux gateway, pfSense list, Proxmox).
 *
 * Never touched: the host's firewall (kernel steps run in their own network namespace), its
 * fail2ban (only `fail2ban-client --test`/`-d` on a sandbox copy of its config), systemd (the
 * unit's ExecStart runs once instead), and every host path the README names (checked at the end).
 */
import { pveFixturesDir } from '../helpers/fixtures.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { appendFileSync, copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { dirname, join } from 'node:path';
import { git, REPO_ROOT } from '../helpers/git.js';
import { createNetns, destroyAllNetns, IN_CI, kernelSkipReason, type Netns } from '../helpers/netns.js';
import { cleanupTmp } from '../helpers/tmp.js';
import { blocksUnder, execStart, readReadme, sectionText } from './readme-blocks.js';
import { explain, hostSnapshot, makeSandbox, readText, remoteFile, type Sandbox } from './sandbox.js';

const README = readReadme();
const INSTALL = '## Install';
const LEDGER = '### 1. A ledger repository';
const FAIL2BAN = '### 2. A fail2ban host';
const ENFORCING = '### 3. An enforcing host';

function have(bin: string): boolean {
  try {
    execFileSync('which', [bin], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const F2B_SKIP = have('fail2ban-client') && existsSync('/etc/fail2ban/jail.conf') ? undefined : 'fail2ban is not installed';
if (F2B_SKIP && IN_CI) throw new Error(`${F2B_SKIP} (apt-get install fail2ban); required when CI=true`);
const KERNEL_SKIP = kernelSkipReason();
const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const BANNED_IP = '203.0.113.50';

let sb: Sandbox;
let ns: Netns | undefined;
const hostBefore = hostSnapshot();

beforeAll(async () => {
  sb = makeSandbox();
  if (!KERNEL_SKIP) ns = await createNetns('f2gH');
});

afterAll(async () => {
  await destroyAllNetns();
  cleanupTmp();
});

function expectOk(what: string, r: { code: number | null; stdout: string; stderr: string }): void {
  expect(r.code, explain(what, r)).toBe(0);
}

describe.sequential('README install paths, as written', () => {
  it('Install: the bundle and wrapper run `fail2git --version`; bash completion is written', () => {
    const [block] = blocksUnder(README, INSTALL, 'sh');
    const r = sb.sh(sb.rewrite(block!));
    expectOk('install block', r);
    expect(r.stdout).toContain(`fail2git ${VERSION}`);
    // the wrapper is what the PATH finds, and it runs the copied bundle, not the repository
    const wrapper = readText(join(sb.root, 'usr/local/bin/fail2git'));
    expect(wrapper).toContain(join(sb.root, 'usr/local/lib/fail2git/fail2git.mjs'));
    expect(existsSync(join(sb.root, 'usr/local/lib/fail2git/fail2git.mjs'))).toBe(true);
    expect(readText(join(sb.root, 'etc/bash_completion.d/fail2git'))).toMatch(/^complete -F \w+ fail2git$/m);
  });

  it('1. Ledger: `fail2git init … --remote` pushes a ledger that validates', () => {
    const [block] = blocksUnder(README, LEDGER, 'sh');
    expectOk('ledger block', sb.sh(sb.rewrite(block!)));
    const check = join(sb.dir, 'ledger-check');
    git(sb.dir, 'clone', '-q', sb.bare, check);
    const v = sb.run(['fail2git', 'validate', '--ledger', check]);
    expectOk('validate', v);
    expect(v.stdout).toMatch(/^ok: /m);
    // the --allow from the README is in the pushed allowlist
    const allowed = /--allow (\S+?)=/.exec(block!)?.[1];
    expect(allowed).toBeDefined();
    expect(remoteFile(sb.bare, 'bans/allow.yaml')).toContain(allowed!);
  });

  describe.skipIf(F2B_SKIP)('2. fail2ban host', () => {
    it('config, flush, action file: the real fail2ban accepts the README jail.local', () => {
      const [block] = blocksUnder(README, FAIL2BAN, 'sh');
      const script = sb.rewrite(block!);
      // The config must name its stateDir: the default /var/lib/fail2git is a host path.
      expect(script, 'README config must write stateDir explicitly so the sandbox can move it').toContain(`stateDir: ${sb.root}/var/lib/fail2git`);
      // fail2ban is installed on a fail2ban host: the sandbox root holds a copy of its config.
      cpSync('/etc/fail2ban', join(sb.root, 'etc/fail2ban'), { recursive: true });
      expectOk('fail2ban host block', sb.sh(script));
      expect(existsSync(join(sb.root, 'etc/fail2ban/action.d/fail2git.conf'))).toBe(true);
      expect(existsSync(join(sb.root, 'var/lib/fail2git'))).toBe(true);

      // the jail.local snippet goes where the prose says
      const jailPath = /in `(\/etc\/fail2ban\/[^`]+)`/.exec(sectionText(README, FAIL2BAN))?.[1];
      expect(jailPath).toBe('/etc/fail2ban/jail.local');
      const [ini] = blocksUnder(README, FAIL2BAN, 'ini');
      writeFileSync(sb.rewrite(jailPath!), sb.rewrite(ini!));
      // Not from the README: this container has no sshd log, so Debian's enabled sshd jail
      // and one extra test jail read a temp file with the polling backend.
      const log = join(sb.dir, 'auth.log');
      writeFileSync(log, '');
      writeFileSync(join(sb.root, 'etc/fail2ban/jail.d/zz-sandbox.local'),
        `[sshd]\nbackend = polling\nlogpath = ${log}\n\n[f2g-readme]\nenabled = true\nfilter = sshd\nbackend = polling\nlogpath = ${log}\n`);

      const conf = join(sb.root, 'etc/fail2ban');
      const t = sb.run(['fail2ban-client', '-c', conf, '--test']);
      expectOk('fail2ban-client --test', t);
      expect(t.stdout + t.stderr).toContain('configuration test is successful');

      // The action fail2ban would run for a ban in our jail, with the README's arguments.
      const dump = sb.run(['fail2ban-client', '-c', conf, '-d']);
      expectOk('fail2ban-client -d', dump);
      const jailLine = dump.stdout.split('\n').find((l) => l.includes("'f2g-readme', 'action', 'fail2git'"));
      expect(jailLine, 'the fail2git action is attached to the test jail').toBeDefined();
      const actionban = /\['actionban', '([^']+)'\]/.exec(jailLine!)?.[1];
      expect(actionban).toContain(`--config=${sb.config}`);
      // Run that command line as fail2ban would, through sh with the tags substituted (the
      // action file's /usr/local/bin/fail2git is the sandbox's wrapper): the hook must accept
      // it and the ban reach the remote.
      const tags: Record<string, string> = { ip: BANNED_IP, bantime: '3600', time: String(Math.floor(Date.now() / 1000)), restored: '0', bancount: '1', failures: '5' };
      const line = sb.rewrite(actionban!).replace(/<(\w+)>/g, (m, tag: string) => tags[tag] ?? m);
      expect(line.match(/<\w+>/g), 'every tag is filled').toBeNull();
      const argv = ['sh', '-c', line];
      expectOk('actionban', sb.run(argv));
      expectOk('fail2git flush', sb.run(['fail2git', 'flush']));
      expect(remoteFile(sb.bare, 'bans/active.yaml')).toContain(`cidr: ${BANNED_IP},`);
    });

    it('`fail2git doctor` reports the config and the remote ok', () => {
      const r = sb.run(['fail2git', 'doctor']);
      expectOk('fail2git doctor', r);
      expect(r.stdout).toMatch(/^ok\s+config\s/m);
      expect(r.stdout).toMatch(/^ok\s+config-mode\s/m);
      expect(r.stdout).toMatch(/^ok\s+remote\s/m);
    });
  });

  describe.skipIf(F2B_SKIP)('3. Enforcing host: the unit\'s ExecStart, then plan and status', () => {
    let server: Server | undefined;
    let clusterFwBefore = '';
    const section = sectionText(README, ENFORCING);

    afterAll(() => {
      server?.closeAllConnections();
      server?.close();
    });

    /** The targets the README describes, from its own words where it gives options. */
    function targetsYaml(): string {
      for (const phrase of ['driver: ipset', 'driver: nftables', '`forward`', 'driver: file', 'format: txt', 'driver: pve-clusterfw']) {
        expect(section, `README section 3 mentions ${phrase}`).toContain(phrase);
      }
      const filePath = /options: \{path: (\/[^}\s]+)\}/.exec(section)?.[1];
      const clusterFw = /`(\/etc\/pve\/firewall\/cluster\.fw)`/.exec(section)?.[1];
      expect(filePath).toBeDefined();
      expect(clusterFw).toBeDefined();
      const doc = (name: string, driver: string, options: string) =>
        `apiVersion: fail2git/v1\nkind: Target\nmetadata: {name: ${name}}\nspec:\n  driver: ${driver}\n  options: ${options}\n`;
      const docs = [
        doc('firewall-alias', 'file', `{path: ${sb.rewrite(filePath!)}, format: txt}`),
        doc('datacenter', 'pve-clusterfw', `{path: ${sb.rewrite(clusterFw!)}}`),
      ];
      if (ns) docs.unshift(doc('gateway', 'nftables', '{enforce: forward}'), doc('kernel', 'ipset', '{enforce: forward}'));
      return docs.join('---\n');
    }

    it('runs the reconciler as the unit does, and plan/status exit 0', () => {
      if (KERNEL_SKIP) console.warn(`README test: Linux gateway part skipped: ${KERNEL_SKIP}`);
      // The Proxmox node has its cluster.fw: a copy of a real one.
      const fixture = join(pveFixturesDir(), 'pve-firewall', 'test-ipset1', 'cluster.fw');
      const clusterFw = join(sb.root, 'etc/pve/firewall/cluster.fw');
      mkdirSync(dirname(clusterFw), { recursive: true });
      copyFileSync(fixture, clusterFw);
      // …with the datacenter rule the README says the set needs (this fixture has no [RULES]).
      const rule = /`(IN DROP -source \+dc\/[a-z0-9_-]+)`/.exec(section)?.[1];
      expect(rule, 'README names the Proxmox rule').toBeDefined();
      appendFileSync(clusterFw, `\n[RULES]\n\n${rule!}\n`);
      clusterFwBefore = readText(clusterFw);
      // "Add a Target to the ledger's bans/targets.yaml (by pull request)"
      const pr = join(sb.dir, 'pr');
      git(sb.dir, 'clone', '-q', sb.bare, pr);
      writeFileSync(join(pr, 'bans/targets.yaml'), targetsYaml());
      git(pr, 'commit', '-q', '-am', 'targets for web1');
      git(pr, 'push', '-q', 'origin', 'main');

      // systemd is not run in the sandbox: `systemctl enable --now UNIT` becomes one run of
      // the unit's ExecStart (read from deploy/systemd/, --watch swapped for --once).
      const [block] = blocksUnder(README, ENFORCING, 'sh');
      const script = block!.split('\n').map((line) => {
        const unit = /^systemctl enable --now (\S+)/.exec(line)?.[1];
        if (!unit) return line;
        const file = unit.endsWith('.service') ? unit : `${unit}.service`;
        const argv = execStart(readText(join(REPO_ROOT, 'deploy/systemd', file))).map((a) => (a === '--watch' ? '--once' : a));
        // A bare ExecStart name is looked up the way systemd does (its fixed search path, in order).
        if (!argv[0]!.includes('/')) {
          const dir = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin'].find((d) => existsSync(join(sb.root, d, argv[0]!)));
          expect(dir, `${argv[0]} is installed where systemd looks`).toBeDefined();
          argv[0] = `${dir}/${argv[0]}`;
        }
        expect(argv).toContain('--once');
        return argv.join(' ');
      }).join('\n');
      const r = sb.sh(sb.rewrite(script), ns?.name);
      expectOk('enforcing host block', r);
      expect(existsSync(join(sb.root, 'etc/systemd/system/fail2git-reconcile.service'))).toBe(true);
      expect(r.stdout).toContain('Applied');
      expect(r.stdout).toContain('No changes'); // plan after the run: nothing left to do
      expect(r.stdout).toMatch(/^commit\s+\S+ applied/m); // status
      expect(r.stderr, 'no target warns that its bans have no effect').not.toMatch(/no effect|no rule uses/);
    });

    it.skipIf(KERNEL_SKIP)('Linux gateway: nft forward chain drops the set; iptables FORWARD matches the ipset', async () => {
      const nft = await ns!.run('nft', ['list', 'table', 'inet', 'fail2git']);
      expect(nft.stdout).toMatch(/chain forward \{[^}]*hook forward[^}]*ip saddr @v4 drop/);
      expect(nft.stdout).toMatch(new RegExp(`set v4 \\{[^}]*elements = \\{ ${BANNED_IP.replace(/\./g, '\\.')} \\}`));
      const ipt = await ns!.run('iptables', ['-S', 'FORWARD']);
      expect(ipt.stdout).toContain('-A FORWARD -m set --match-set fail2git-v4 src -j DROP');
      const set = await ns!.run('ipset', ['list', 'fail2git-v4']);
      expect(set.stdout).toContain(BANNED_IP);
    });

    it('pfSense/OPNsense: the file served over HTTP lists one CIDR per line, equal to `fail2git list`', async () => {
      const filePath = sb.rewrite(/options: \{path: (\/[^}\s]+)\}/.exec(section)![1]!);
      // a web server's plain static file: 404 until the reconciler has written it
      server = createServer((_req, res) => {
        if (!existsSync(filePath)) return void res.writeHead(404).end();
        res.end(readFileSync(filePath));
      });
      await new Promise<void>((res) => server!.listen(0, '127.0.0.1', res));
      const addr = server.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      const res = await fetch(`http://127.0.0.1:${port}/fail2git.txt`);
      expect(res.status, 'the file target wrote the list').toBe(200);
      const body = await res.text();
      const list = sb.run(['fail2git', 'list']);
      expectOk('fail2git list', list);
      const listed = list.stdout.split('\n').filter(Boolean).map((l) => l.split(/\s+/)[0]);
      expect(listed).toContain(BANNED_IP);
      expect(body.split('\n').filter(Boolean)).toEqual(listed);
      expect(body.endsWith('\n')).toBe(true);
    });

    it('Proxmox node: cluster.fw gains [IPSET fail2ban] with the ban; every other line is kept', () => {
      const before = clusterFwBefore;
      const after = readText(join(sb.root, 'etc/pve/firewall/cluster.fw'));
      expect(after).toMatch(new RegExp(`^\\[IPSET fail2ban\\][^\\n]*\\n(?:[^\\[][^\\n]*\\n|\\n)*${BANNED_IP.replace(/\./g, '\\.')} # fail2git`, 'm'));
      // the original lines, in order, are all still there
      const kept = after.split('\n');
      let at = 0;
      for (const line of before.split('\n')) {
        const found = kept.indexOf(line, at);
        expect(found, `line kept: ${JSON.stringify(line)}`).toBeGreaterThanOrEqual(0);
        at = found + 1;
      }
    });
  });

  it('left every host path the README names untouched', () => {
    expect(hostSnapshot()).toEqual(hostBefore);
  });
});
