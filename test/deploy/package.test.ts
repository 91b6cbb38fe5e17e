/**
 * `npm run package` (scripts/package.mjs): the .deb passes lintian with no error, holds what
 * Debian admins look for where they look for it, installs with apt (as root), runs
 * `fail2git --version`, `doctor` and fail2ban's own `-t` against the installed action, and
 * purges cleanly. The release tarball carries a bundle that runs alone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeLedgerRemote, REPO_ROOT } from '../helpers/git.js';
import { cleanupTmp, tmpDir } from '../helpers/tmp.js';
import { IN_CI } from '../helpers/netns.js';
import { fail2banAvailable, fail2banPython } from '../helpers/fail2ban.js';

const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const have = (bin: string) => spawnSync('sh', ['-c', `command -v ${bin}`]).status === 0;
const isRoot = process.getuid?.() === 0;
for (const bin of ['dpkg-deb', 'lintian']) {
  if (!have(bin) && IN_CI) throw new Error(`${bin} missing (apt-get install ${bin === 'lintian' ? 'lintian' : 'dpkg'}); required when CI=true`);
}
const installedBefore = spawnSync('dpkg-query', ['-W', '-f=${Status}', 'fail2git'], { encoding: 'utf8' }).stdout.includes('installed');

let out = '';
let deb = '';
let tarball = '';

beforeAll(() => {
  out = tmpDir('f2g-pkg');
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'scripts/package.mjs'), '--out', out], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  deb = join(out, `fail2git_${VERSION}_all.deb`);
  tarball = join(out, `fail2git-${VERSION}.tar.gz`);
}, 120_000);

afterAll(cleanupTmp);

const sh = (cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive', ...opts.env } });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
};

describe.skipIf(!have('dpkg-deb'))('the .deb', () => {
  it('is named fail2git_<version>_all.deb and depends on the distribution\'s Node and git', () => {
    expect(existsSync(deb)).toBe(true);
    const f = sh('dpkg-deb', ['-f', deb, 'Package', 'Version', 'Architecture', 'Depends']);
    expect(f.stdout).toContain(`Version: ${VERSION}`);
    expect(f.stdout).toContain('Architecture: all');
    expect(f.stdout).toContain('Depends: nodejs (>= 18.19), git');
  });

  it('holds the bundle, the command, the action as a conffile, units, man pages, completions and docs', () => {
    const listing = sh('dpkg-deb', ['-c', deb]).stdout;
    const paths = listing.split('\n').map((l) => l.replace(/^.*? \.\//, '/').replace(/ -> .*$/, ''));
    for (const p of [
      '/usr/lib/fail2git/fail2git.mjs', '/usr/bin/fail2git', '/etc/fail2ban/action.d/fail2git.conf', '/etc/fail2ban/action.d/fail2git.py',
      '/lib/systemd/system/fail2git-reconcile.service', '/lib/systemd/system/fail2git-reconcile-once.timer', '/lib/systemd/system/fail2git-gc.timer',
      '/usr/share/man/man1/fail2git.1.gz', '/usr/share/man/man1/fail2git-reconcile.1.gz', '/usr/share/man/man1/fail2git-hook.1.gz',
      '/usr/share/bash-completion/completions/fail2git', '/usr/share/zsh/vendor-completions/_fail2git',
      '/usr/share/doc/fail2git/copyright', '/usr/share/doc/fail2git/changelog.gz', '/usr/share/doc/fail2git/examples/config.yaml',
      '/usr/share/doc/fail2git/examples/prometheus/fail2git.rules.yml', '/usr/share/doc/fail2git/examples/grafana/fail2git.json',
    ]) expect(paths, p).toContain(p);
    expect(listing).toMatch(/\.\/usr\/bin\/fail2git -> \.\.\/lib\/fail2git\/fail2git\.mjs/);
    const ctl = tmpDir('f2g-ctl');
    expect(sh('dpkg-deb', ['-e', deb, ctl]).code).toBe(0);
    expect(readFileSync(join(ctl, 'conffiles'), 'utf8')).toBe('/etc/fail2ban/action.d/fail2git.conf\n/etc/fail2ban/action.d/fail2git.py\n');
    // Nothing is enabled or started by the package: no maintainer scripts at all.
    expect(readdirSync(ctl).sort()).toEqual(['conffiles', 'control', 'md5sums']);
  });

  it.skipIf(!have('lintian'))('lintian reports no error and no warning', () => {
    const r = sh('lintian', ['--tag-display-limit', '0', deb]);
    const tags = (r.stdout + r.stderr).split('\n').filter((l) => /^[EW]: /.test(l));
    expect(tags).toEqual([]);
  }, 180_000);
});

describe('the release tarball', () => {
  it('carries the bundle, which runs alone', () => {
    const dir = tmpDir('f2g-tar');
    expect(sh('tar', ['-xzf', tarball, '-C', dir]).code).toBe(0);
    const top = join(dir, `fail2git-${VERSION}`);
    for (const f of ['bundle/fail2git.mjs', 'fail2git.mjs', 'fail2ban/fail2git.conf', 'fail2ban/fail2git.py', 'deploy/systemd/fail2git-reconcile.service', 'LICENSE', 'README.md']) {
      expect(existsSync(join(top, f)), f).toBe(true);
    }
    const v = sh(process.execPath, [join(top, 'bundle/fail2git.mjs'), '--version'], { cwd: dir });
    expect(v.stdout).toBe(`fail2git ${VERSION}\n`);
  });
});

describe.skipIf(!isRoot || installedBefore || !have('apt-get'))(`installed with apt${installedBefore ? ' (skipped: a fail2git package is already installed here)' : ''}`, () => {
  let installed = false;
  beforeAll(() => {
    const r = sh('apt-get', ['install', '-y', '-q', '--no-install-recommends', deb]);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    installed = true;
  }, 300_000);

  afterAll(() => {
    if (installed) sh('apt-get', ['purge', '-y', '-q', 'fail2git']);
  }, 120_000);

  it('fail2git --version from /usr/bin', () => {
    const r = sh('/usr/bin/fail2git', ['--version']);
    expect(r).toMatchObject({ code: 0, stdout: `fail2git ${VERSION}\n`, stderr: '' });
  });

  it('init from the package commits its CI build into the new ledger', () => {
    const dir = join(tmpDir('f2g-pkginit'), 'ledger');
    const r = sh('/usr/bin/fail2git', ['init', dir, '--allow', '192.0.2.0/24=management']);
    expect(r.code, r.stderr).toBe(0);
    const v = sh(process.execPath, [join(dir, '.fail2git/fail2git.mjs'), 'validate'], { cwd: dir });
    expect(v.code, v.stderr).toBe(0);
  });

  it('doctor runs against a host config', () => {
    const dir = tmpDir('f2g-pkgdoc');
    const remote = makeLedgerRemote();
    const cfg = join(dir, 'config.yaml');
    writeFileSync(cfg, `remote: ${remote.bare}\nhost: web1\nstateDir: ${join(dir, 'state')}\n`, { mode: 0o600 });
    const r = sh('/usr/bin/fail2git', ['doctor', '--config', cfg]);
    expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/remote/i);
  });

  it.skipIf(!fail2banAvailable())('fail2ban -t accepts jails using the installed actions (.conf and .py), which run /usr/bin/fail2git', () => {
    const action = readFileSync('/etc/fail2ban/action.d/fail2git.conf', 'utf8');
    expect(action).toMatch(/^fail2git = \/usr\/bin\/fail2git$/m);
    expect(readFileSync('/etc/fail2ban/action.d/fail2git.py', 'utf8')).toMatch(/fail2git="\/usr\/bin\/fail2git"/);
    const conf = tmpDir('f2g-pkgf2b');
    cpSync('/etc/fail2ban', conf, { recursive: true });
    const log = join(conf, 'auth.log');
    writeFileSync(log, '');
    mkdirSync(join(conf, 'jail.d'), { recursive: true });
    writeFileSync(join(conf, 'jail.d', 'fail2git-test.local'),
      // Debian's enabled sshd jail reads a temp log here: this container has no sshd log.
      `[sshd]\nbackend = polling\nlogpath = ${log}\n\n[fail2git-test]\nenabled = true\nfilter = sshd\nbackend = polling\nlogpath = ${log}\naction = fail2git[config=/etc/fail2git/config.yaml]\n\n` +
      `[fail2git-py-test]\nenabled = true\nfilter = sshd\nbackend = polling\nlogpath = ${log}\naction = fail2git.py[config=/etc/fail2git/config.yaml]\n`);
    const r = sh('fail2ban-client', ['-c', conf, '-t']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/OK: configuration test is successful/);
    // and the Python action loads in fail2ban's own Python, as fail2ban-server loads it
    const py = sh(fail2banPython(), ['-c', 'import sys; from fail2ban.server.utils import Utils; m = Utils.load_python_module(sys.argv[1]); print(m.Action.__name__)', join(conf, 'action.d', 'fail2git.py')]);
    expect(py, py.stderr).toMatchObject({ code: 0, stdout: 'Fail2gitAction\n' });
  });

  it('man pages, completions and units are where the tools look; nothing is enabled', () => {
    expect(sh('man', ['-w', 'fail2git-reconcile']).stdout.trim()).toBe('/usr/share/man/man1/fail2git-reconcile.1.gz');
    expect(sh('man', ['-w', 'fail2git']).stdout.trim()).toBe('/usr/share/man/man1/fail2git.1.gz');
    expect(existsSync('/usr/share/bash-completion/completions/fail2git')).toBe(true);
    if (have('systemd-analyze')) {
      const units = readdirSync('/lib/systemd/system').filter((u) => u.startsWith('fail2git-')).map((u) => `/lib/systemd/system/${u}`);
      expect(units.length).toBeGreaterThanOrEqual(5);
      const v = sh('systemd-analyze', ['verify', ...units]);
      expect(v.stderr.split('\n').filter((l) => l.includes('fail2git'))).toEqual([]);
    }
    const wants = sh('sh', ['-c', 'ls -l /etc/systemd/system/*.wants/ 2>/dev/null | grep fail2git || true']).stdout;
    expect(wants).toBe('');
  });

  it('purges cleanly: the command and the conffile go', () => {
    const r = sh('apt-get', ['purge', '-y', '-q', 'fail2git']);
    expect(r.code, r.stderr).toBe(0);
    installed = false;
    expect(existsSync('/usr/bin/fail2git')).toBe(false);
    expect(existsSync('/etc/fail2ban/action.d/fail2git.conf')).toBe(false);
    expect(existsSync('/etc/fail2ban/action.d/fail2git.py')).toBe(false);
    expect(existsSync('/usr/lib/fail2git')).toBe(false);
  }, 120_000);
});

describe('npm pack', () => {
  it('links the bundle as the fail2git command, and packs it', () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    expect(pkg.bin).toEqual({ fail2git: 'dist/bundle/fail2git.mjs' });
    const r = sh('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: REPO_ROOT });
    expect(r.code, r.stderr).toBe(0);
    const files = (JSON.parse(r.stdout) as { files: { path: string; mode: number }[] }[])[0]!.files;
    const entry = files.find((f) => f.path === 'dist/bundle/fail2git.mjs');
    expect(entry, 'dist/bundle/fail2git.mjs is packed').toBeDefined();
    expect(entry!.mode & 0o111).not.toBe(0);
  });
});
