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

/** Runs the zsh function with zsh's completion builtins replaced by printers of what they get. */
function zshOffers(script: string, words: string[]): string[] {
  const stubs = [
    'compadd() { [[ $1 == -- ]] && shift; print -l -- "$@"; }',
    '_describe() { local name=${@[-1]}; local -a items; items=("${(@P)name}"); print -l -- "${items[@]%%:*}"; }',
    '_files() { print -- "<files $*>"; }',
  ].join('\n');
  const body = script.replace(/^_fail2git "\$@"$/m, '');
  const prog = `${stubs}\n${body}\nwords=(${words.map((w) => `'${w}'`).join(' ')}); CURRENT=${words.length}; _fail2git`;
  const r = spawnSync('zsh', ['-f', '-c', prog], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.split('\n').filter(Boolean);
}

describe('fail2git completion zsh', () => {
  const { stdout: script, code } = runCli(['completion', 'zsh']);

  it('prints a #compdef script zsh accepts', () => {
    expect(code).toBe(0);
    expect(script.startsWith('#compdef fail2git\n')).toBe(true);
    expect(spawnSync('zsh', ['-n'], { input: script }).status).toBe(0);
  });

  it('offers the commands, then each command\'s flags, files and formats', () => {
    expect(zshOffers(script, ['fail2git', ''])).toEqual(commandNames());
    expect(zshOffers(script, ['fail2git', 'reconcile', ''])).toEqual(FLAGS.reconcile!.split(' '));
    expect(zshOffers(script, ['fail2git', 'export', '--format', ''])).toEqual(['txt', 'json']);
    expect(zshOffers(script, ['fail2git', 'validate', '--ledger', ''])).toEqual(['<files -/>']);
  });

  it('an unknown shell is a usage error', () => {
    const r = runCli(['completion', 'fish']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('fail2git: completion: "bash" or "zsh", not "fish"\n');
  });
});
