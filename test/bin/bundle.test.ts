/**
 * The bundled builds (dist/fail2git.mjs and dist/bundle/, made by `npm run build`) work on a
 * host that has only Node (≥ 18.19): copied alone into an empty directory, it validates a ledger, runs the
 * fail2ban hook and its flusher, and reconciles onto a file target.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { git, makeLedgerRemote, REPO_ROOT } from '../helpers/git.js';
import { cleanupTmp, tmpDir } from '../helpers/tmp.js';

afterAll(cleanupTmp);

/** The two shipped builds: one file, and the chunked directory (faster hook start-up). */
const BUILDS = [
  { name: 'dist/fail2git.mjs', copy: (to: string) => { copyFileSync(join(REPO_ROOT, 'dist', 'fail2git.mjs'), join(to, 'fail2git.mjs')); return join(to, 'fail2git.mjs'); } },
  { name: 'dist/bundle/', copy: (to: string) => { cpSync(join(REPO_ROOT, 'dist', 'bundle'), join(to, 'bundle'), { recursive: true }); return join(to, 'bundle', 'fail2git.mjs'); } },
];

function runBundle(bundle: string, args: string[], cwd: string) {
  const r = spawnSync(process.execPath, [bundle, ...args], {
    cwd,
    encoding: 'utf8',
    // nothing from the repository may be found: no NODE_PATH, cwd outside the repo
    env: { PATH: process.env.PATH, HOME: cwd, FAIL2GIT_CONFIG: '/nonexistent/config.yaml' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe.each(BUILDS)('$name', ({ copy }) => {
  it('runs validate, hook (with its flusher) and reconcile --once with no node_modules around', async () => {
    expect(existsSync(join(REPO_ROOT, 'dist', 'fail2git.mjs')), 'run npm run build first').toBe(true);
    const host = tmpDir('f2g-bundle');
    const bundle = copy(host);
    expect(readdirSync(host)).toHaveLength(1);

    const list = join(host, 'www', 'list.txt');
    const remote = makeLedgerRemote();
    remote.commit({
      'bans/targets.yaml': `apiVersion: fail2git/v1\nkind: Target\nmetadata: {name: list}\nspec:\n  driver: file\n  options: {path: ${JSON.stringify(list)}, format: txt}\n`,
    });

    const v = runBundle(bundle, ['validate', '--ledger', remote.work], host);
    expect(v.stderr).toBe('');
    expect(v.code).toBe(0);

    const cfg = join(host, 'config.yaml');
    writeFileSync(cfg, `remote: ${remote.bare}\nhost: web1\nstateDir: ${join(host, 'state')}\n`);
    const now = String(Math.floor(Date.now() / 1000));
    const hook = runBundle(bundle, ['hook', 'ban', '--jail', 'sshd', '--ip', '198.51.100.201', '--bantime', '3600', '--time', now, '--config', cfg], host);
    expect(hook.stderr).toBe('');
    expect(hook.code).toBe(0);
    const flush = runBundle(bundle, ['flush', '--config', cfg], host);
    expect(flush.code, flush.stderr).toBe(0);
    expect(git(remote.bare, 'log', '-1', '--format=%an: %s', 'main')).toBe('web1: ban 198.51.100.201 (sshd@web1, 1h)');

    mkdirSync(join(host, 'www'), { recursive: true });
    // A host config file, read by the full loader (YAML): a bundle once lost yaml's named exports here.
    const rcfg = join(host, 'pve1.yaml');
    writeFileSync(rcfg, `# the reconciler's host config\nremote: ${remote.bare}\nhost: pve1\nstateDir: ${join(host, 'state-r')}\ninterval: 30s   # --watch only\nwritablePaths:\n  file: [${JSON.stringify(list)}]\n`);
    const rec = runBundle(bundle, ['reconcile', '--once', '--config', rcfg], host);
    expect(rec.code, rec.stderr).toBe(0);
    const lines = readFileSync(list, 'utf8').trim().split('\n');
    expect(lines).toContain('198.51.100.201');
    expect(lines).toContain('203.0.113.0/24');
  });
});
