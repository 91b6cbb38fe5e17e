// `npm run package`: the Debian package and the release tarball, from the build in dist/
// (no network; dpkg-deb, tar and gzip only).
//   dist/fail2git_<version>_all.deb   the bundle in /usr/lib/fail2git, /usr/bin/fail2git, the
//                                     fail2ban actions (.conf and .py: conffiles), systemd units (nothing
//                                     enabled or started), man pages, bash and zsh completion,
//                                     /usr/share/doc/fail2git (copyright, changelog, examples)
//   dist/fail2git-<version>.tar.gz    the same bundle and files for other distributions
// `node scripts/package.mjs [--out DIR]`; run `npm run build` first (`npm run package` does).
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { writeManPages } from './man.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const VERSION = PKG.version;
const MAINTAINER = 'fail2git maintainers <maintainers@fail2git.invalid>';
const MIN_NODE = PKG.engines.node.replace(/^>=\s*/, '');

function fail(message) {
  console.error(`package: ${message}`);
  process.exit(1);
}

function run(cmd, args, opts = {}) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  } catch (err) {
    fail(`${cmd} ${args[0] ?? ''} failed: ${String(err.stderr || err.message).trim().split('\n')[0]}`);
  }
}

/** The last commit's time (reproducible builds), else now. */
function sourceDate() {
  if (process.env.SOURCE_DATE_EPOCH) return Number(process.env.SOURCE_DATE_EPOCH);
  try {
    return Number(execFileSync('git', ['log', '-1', '--format=%ct'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()) || Math.floor(Date.now() / 1000);
  } catch {
    return Math.floor(Date.now() / 1000);
  }
}

function put(root, path, content, mode = 0o644) {
  const file = join(root, path);
  mkdirSync(dirname(file), { recursive: true, mode: 0o755 });
  writeFileSync(file, content);
  chmodSync(file, mode);
}

const gz = (text) => gzipSync(Buffer.from(text), { level: 9 }); // no name, no mtime: reproducible

/** The fail2ban actions the package installs in /etc/fail2ban/action.d/ (conffiles). */
const ACTION_FILES = ['fail2git.conf', 'fail2git.py'];

/** An action file as the package installs it: fail2git at /usr/bin. */
function actionFile(name) {
  return readFileSync(join(ROOT, 'hooks/fail2ban', name), 'utf8').replaceAll('/usr/local/bin/fail2git', '/usr/bin/fail2git');
}

/** The Debian changelog of a native package, from the version and the source date. */
function changelog(epoch) {
  const date = new Date(epoch * 1000).toUTCString().replace(/GMT$/, '+0000').replace(/^(\w{3}),/, '$1,');
  return `fail2git (${VERSION}) unstable; urgency=medium\n\n  * Release ${VERSION}: see /usr/share/doc/fail2git/README.md.\n\n -- ${MAINTAINER}  ${date}\n`;
}

function copyright() {
  const license = readFileSync(join(ROOT, 'LICENSE'), 'utf8').replace(/^MIT License\n\n/, '').trim().split('\n').map((l) => (l.trim() === '' ? ' .' : ` ${l}`)).join('\n');
  return `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: fail2git
Source: https://github.com/fail2git/fail2git

Files: *
Copyright: 2026 the fail2git authors
License: MIT

License: MIT
${license}
`;
}

function control(installedKb) {
  return `Package: fail2git
Version: ${VERSION}
Architecture: all
Maintainer: ${MAINTAINER}
Installed-Size: ${installedKb}
Depends: nodejs (>= ${MIN_NODE}), git
Recommends: fail2ban
Suggests: ipset, nftables, iptables, prometheus-node-exporter
Section: net
Priority: optional
Homepage: https://github.com/fail2git/fail2git
Description: network-wide fail2ban bans as code, reconciled from a git ledger
 fail2ban hooks commit ban and unban records (with TTLs) to a git repository
 of declarative YAML, the ledger; a reconciler on each enforcing host pulls it
 and brings ipset, nftables sets, blackhole routes, URL-table lists and
 Proxmox VE firewalls (cluster.fw or the REST API) into line with it. People
 ban and unban by pull request; git log is the audit trail.
 .
 The package installs the command, the fail2ban action and systemd units;
 nothing is enabled or started.
`;
}

function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
}

/** Files shared by the .deb and the tarball, under `root` at their installed paths. */
async function stageDeb(root, epoch) {
  const bundle = join(ROOT, 'dist', 'bundle');
  if (!existsSync(join(bundle, 'fail2git.mjs'))) fail('dist/bundle/ is missing: run npm run build first');
  cpSync(bundle, join(root, 'usr/lib/fail2git'), { recursive: true });
  const entry = join(root, 'usr/lib/fail2git/fail2git.mjs');
  // Debian's interpreter path, not env: the package depends on nodejs, which provides it.
  writeFileSync(entry, readFileSync(entry, 'utf8').replace(/^#!.*\n/, '#!/usr/bin/node\n'));
  // Scripts (a #! line: the entry and ci/fail2git.mjs, the copy init puts into ledgers) run; chunks are read.
  for (const f of walk(join(root, 'usr/lib/fail2git'))) chmodSync(f, readFileSync(f, 'utf8').startsWith('#!') ? 0o755 : 0o644);
  mkdirSync(join(root, 'usr/bin'), { recursive: true });
  symlinkSync('../lib/fail2git/fail2git.mjs', join(root, 'usr/bin/fail2git'));

  for (const f of ACTION_FILES) put(root, `etc/fail2ban/action.d/${f}`, actionFile(f));
  for (const unit of readdirSync(join(ROOT, 'deploy/systemd')).filter((u) => /\.(service|timer)$/.test(u))) {
    put(root, `lib/systemd/system/${unit}`, readFileSync(join(ROOT, 'deploy/systemd', unit)));
  }
  const manDir = mkdtempSync(join(tmpdir(), 'fail2git-man-'));
  process.env.SOURCE_DATE_EPOCH ??= String(epoch);
  for (const page of await writeManPages(manDir)) put(root, `usr/share/man/man1/${page}.gz`, gz(readFileSync(join(manDir, page), 'utf8')));
  rmSync(manDir, { recursive: true, force: true });
  const cli = join(ROOT, 'dist/bin/fail2git.js');
  put(root, 'usr/share/bash-completion/completions/fail2git', run(process.execPath, [cli, 'completion', 'bash']));
  put(root, 'usr/share/zsh/vendor-completions/_fail2git', run(process.execPath, [cli, 'completion', 'zsh']));

  const doc = 'usr/share/doc/fail2git';
  put(root, `${doc}/copyright`, copyright());
  put(root, `${doc}/changelog.gz`, gz(changelog(epoch)));
  put(root, `${doc}/README.md`, readFileSync(join(ROOT, 'README.md')));
  for (const f of readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md'))) put(root, `${doc}/docs/${f}`, readFileSync(join(ROOT, 'docs', f)));
  for (const f of readdirSync(join(ROOT, 'bans'))) put(root, `${doc}/examples/ledger/bans/${f}`, readFileSync(join(ROOT, 'bans', f)));
  put(root, `${doc}/examples/config.yaml`, exampleConfig());
  for (const sub of ['prometheus', 'grafana']) {
    const from = join(ROOT, 'deploy', sub);
    if (existsSync(from)) for (const f of walk(from)) put(root, `${doc}/examples/${sub}/${relative(from, f)}`, readFileSync(f));
  }
}

function exampleConfig() {
  return `# /etc/fail2git/config.yaml (mode 0600): one per host. See README.md, "Configuration".
remote: git@git.example.org:ops/bans.git
host: web1
stateDir: /var/lib/fail2git
# On enforcing hosts: the files targets may write, and named Proxmox API credentials.
# writablePaths:
#   file: [/var/www/html/fail2git.txt]
#   pve-clusterfw: [/etc/pve/firewall/cluster.fw]
# pveCredentials:
#   dc:
#     url: https://127.0.0.1:8006
#     tokenId: fail2git@pve!reconciler
#     tokenSecretFile: /etc/fail2git/pve-token
#     fingerprint: AA:BB:...
`;
}

function debianControl(root) {
  // Regular files only: dpkg keeps no checksum for a symlink (/usr/bin/fail2git).
  const files = walk(root).filter((f) => !relative(root, f).startsWith('DEBIAN') && lstatSync(f).isFile());
  const md5 = files
    .map((f) => `${createHash('md5').update(readFileSync(f)).digest('hex')}  ${relative(root, f)}`).sort().join('\n') + '\n';
  const kb = Math.ceil(files.reduce((n, f) => n + statSync(f).size, 0) / 1024);
  put(root, 'DEBIAN/control', control(kb));
  put(root, 'DEBIAN/md5sums', md5);
  put(root, 'DEBIAN/conffiles', ACTION_FILES.map((f) => `/etc/fail2ban/action.d/${f}\n`).join(''));
  for (const d of walk(root).map((f) => dirname(f))) chmodSync(d, 0o755);
  chmodSync(root, 0o755);
}

function tarball(outDir, epoch) {
  const name = `fail2git-${VERSION}`;
  const stage = mkdtempSync(join(tmpdir(), 'fail2git-tar-'));
  const top = join(stage, name);
  cpSync(join(ROOT, 'dist/bundle'), join(top, 'bundle'), { recursive: true });
  copyFileSync(join(ROOT, 'dist/fail2git.mjs'), join(top, 'fail2git.mjs'));
  cpSync(join(ROOT, 'deploy'), join(top, 'deploy'), { recursive: true });
  for (const f of ACTION_FILES) put(top, `fail2ban/${f}`, readFileSync(join(ROOT, 'hooks/fail2ban', f)));
  for (const f of ['README.md', 'LICENSE', 'SECURITY.md']) if (existsSync(join(ROOT, f))) copyFileSync(join(ROOT, f), join(top, f));
  const file = join(outDir, `${name}.tar.gz`);
  run('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', `--mtime=@${epoch}`, '-czf', file, '-C', stage, name]);
  rmSync(stage, { recursive: true, force: true });
  return file;
}

const outFlag = process.argv.indexOf('--out');
const outDir = outFlag > 0 ? process.argv[outFlag + 1] : join(ROOT, 'dist');
mkdirSync(outDir, { recursive: true });
const epoch = sourceDate();
const root = mkdtempSync(join(tmpdir(), 'fail2git-deb-'));
try {
  await stageDeb(root, epoch);
  debianControl(root);
  const deb = join(outDir, `fail2git_${VERSION}_all.deb`);
  // root:root ownership without fakeroot; the member times are the source date.
  run('dpkg-deb', ['--root-owner-group', '-Zxz', '--build', root, deb], { env: { ...process.env, SOURCE_DATE_EPOCH: String(epoch) } });
  const tar = tarball(outDir, epoch);
  console.log(`package: ${relative(process.cwd(), deb) || deb}\npackage: ${relative(process.cwd(), tar) || tar}`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
