/**
 * Bash completion: valid bash that completes command names and flags, and every flag it
 * offers is one the command's own --help documents (so completion cannot drift into lies).
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { FLAGS } from '../../bin/commands/completion.js';
import { commandNames } from '../../bin/commands.js';
import { runCli } from '../helpers/cli.js';

function complete(script: string, words: string[]): string[] {
  const prog = `${script}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _fail2git; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const r = spawnSync('bash', ['-c', prog], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.split('\n').filter(Boolean);
}

describe('fail2git completion bash', () => {
  const { stdout: script, code } = runCli(['completion', 'bash']);

  it('prints a script bash accepts', () => {
    expect(code).toBe(0);
    expect(spawnSync('bash', ['-n'], { input: script }).status).toBe(0);
  });

  it('completes command names and a command\'s flags', () => {
    expect(complete(script, ['fail2git', 'rec'])).toEqual(['reconcile']);
    expect(complete(script, ['fail2git', 'reconcile', '--dr'])).toEqual(['--dry-run']);
    expect(complete(script, ['fail2git', 'export', '--format', ''])).toEqual(['txt', 'json']);
  });

  it('has an entry for every command', () => {
    expect(Object.keys(FLAGS).sort()).toEqual(commandNames().sort());
  });

  for (const name of commandNames()) {
    it(`${name}: every completed flag is documented by ${name} --help`, () => {
      const help = runCli([name, '--help']);
      expect(help.code).toBe(0);
      for (const word of (FLAGS[name] ?? '').split(' ').filter((w) => w.startsWith('--') && w !== '--help')) {
        expect(help.stdout, `${name} --help lacks ${word}`).toContain(word);
      }
    });
  }
});
