/**
 * The hook is on fail2ban's critical path: it must not load the world. This traces every
 * module the real CLI resolves for a hook call and checks the heavy ones stay out.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanupTmp, tmpDir } from '../helpers/tmp.js';
import {  } from '../helpers/hook-host.js';
import { CLI } from '../helpers/cli.js';

afterAll(cleanupTmp);

const REGISTER = join(import.meta.dirname, '..', 'helpers', 'trace-register.mjs');
const HEAVY = [/node_modules\/yaml\//, /node_modules\/ajv/, /node_modules\/simple-git/, /controller\/generated\//, /controller\/ledger\/(load|banlist|schema-check)\.js/, /controller\/config\.js/, /hooks\/flush\.js/, /controller\/git\//];

function modulesFor(args: string[]): string[] {
  const dir = tmpDir('f2g-trace');
  const trace = join(dir, 'trace.txt');
  const config = join(dir, 'config.yaml');
  writeFileSync(config, `remote: ${join(dir, 'none.git')}\nhost: web1\nstateDir: ${join(dir, 'state')}\n`);
  writeFileSync(trace, '');
  try {
    execFileSync(process.execPath, ['--import', REGISTER, CLI, ...args, '--config', config], { env: { ...process.env, F2G_TRACE: trace }, stdio: 'ignore' });
  } catch {
    /* refusals exit 1; the trace is what matters */
  }
  return readFileSync(trace, 'utf8').split('\n').filter(Boolean);
}

describe('hook start-up weight', () => {
  it.each([
    ['a natural-expiry unban', ['hook', 'unban', '--jail', 'sshd', '--ip', '203.0.113.7', '--bantime', '60', '--time', '1000']],
    ['a refused ban', ['hook', 'ban', '--jail', 'sshd', '--ip', '10.0.0.0/7', '--bantime', '60', '--time', '1000']],
  ])('%s loads no YAML parser, schema validator, git layer or flusher', (_what, args) => {
    const mods = modulesFor(args);
    expect(mods.some((m) => m.endsWith('/hooks/fail2ban-commit.js'))).toBe(true);
    for (const heavy of HEAVY) expect(mods.filter((m) => heavy.test(m)), String(heavy)).toEqual([]);
  });
});
