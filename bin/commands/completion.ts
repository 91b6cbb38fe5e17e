/** `fail2git completion bash` — prints a bash completion script (source it, or drop it in /etc/bash_completion.d/). */
import { parseFlags, UsageError, type Command } from '../cli.js';

const HELP = `Usage: fail2git completion bash

Prints a bash completion script for fail2git. Install it with:
  fail2git completion bash > /etc/bash_completion.d/fail2git
or for the current shell:
  source <(fail2git completion bash)`;

/** Flags each command takes, for completion only (each command's --help is the reference). */
export const FLAGS: Record<string, string> = {
  init: '--remote --branch --allow --signing-key --help',
  validate: '--ledger --rev --json --help',
  fmt: '--ledger --check --help',
  list: '--ledger --at --json --help',
  export: '--ledger --format --at --output --help',
  ban: '--ttl --until --permanent --reason --by --config --help',
  unban: '--reason --by --config --help',
  hook: 'ban unban prolong --jail --ip --bantime --time --restored --bancount --failures --config --help',
  flush: '--config --json --background --help',
  pending: '--config --json --help',
  reconcile: '--once --watch --interval --dry-run --force --target --json --config --remote --host --state-dir --branch --metrics-file --help',
  plan: '--target --json --detailed-exitcode --config --remote --host --state-dir --branch --metrics-file --help',
  status: '--json --fleet --config --remote --host --state-dir --branch --metrics-file --help',
  gc: '--grace --dry-run --json --config --remote --host --state-dir --branch --metrics-file --help',
  audit: '--ledger --json --since --rev --no-deepen --config --help',
  doctor: '--config --ledger --json --help',
  demo: '--keep --help',
  review: '--base --head --ledger --format --help',
  completion: 'bash',
};

export function bashCompletion(commands: readonly string[]): string {
  const cases = commands
    .map((c) => `    ${c}) opts="${FLAGS[c] ?? '--help'}" ;;`)
    .join('\n');
  return `# bash completion for fail2git
_fail2git() {
  local cur prev cmd opts
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=( $(compgen -W "${commands.join(' ')} --help --version" -- "$cur") )
    return
  fi
  cmd="\${COMP_WORDS[1]}"
  case "$prev" in
    --ledger|--state-dir) COMPREPLY=( $(compgen -d -- "$cur") ); return ;;
    --config|--output) COMPREPLY=( $(compgen -f -- "$cur") ); return ;;
    --format) COMPREPLY=( $(compgen -W "txt json" -- "$cur") ); return ;;
  esac
  case "$cmd" in
${cases}
    *) opts="--help" ;;
  esac
  COMPREPLY=( $(compgen -W "$opts" -- "$cur") )
}
complete -F _fail2git fail2git
`;
}

export const command: Command = {
  help: HELP,
  async run(argv) {
    const parsed = parseFlags(argv, {}, HELP);
    if (!parsed) return 0;
    const shell = parsed.positionals[0] ?? 'bash';
    if (shell !== 'bash') throw new UsageError(`completion: only "bash" is supported, got "${shell}"`);
    const { commandNames } = await import('../commands.js');
    process.stdout.write(bashCompletion(commandNames()));
    return 0;
  },
};
