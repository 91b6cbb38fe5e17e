/** `fail2git completion bash|zsh` — prints a completion script for bash or zsh. */
import { parseFlags, UsageError, type Command } from '../cli.js';

const HELP = `Usage: fail2git completion bash|zsh

Prints a completion script for fail2git (bash when no shell is named). The Debian package
installs both. By hand:
  fail2git completion bash > /etc/bash_completion.d/fail2git
  fail2git completion zsh > /usr/local/share/zsh/site-functions/_fail2git
or for the current shell:
  source <(fail2git completion bash)`;

/** Flags each command takes, for completion only (each command's --help is the reference). */
export const FLAGS: Record<string, string> = {
  init: '--remote --branch --allow --signing-key --update-ci --help',
  validate: '--ledger --rev --json --help',
  fmt: '--ledger --check --help',
  list: '--ledger --at --jail --by --expiring-within --json --help',
  export: '--ledger --format --at --output --help',
  ban: '--ttl --until --permanent --reason --by --from-file --dry-run --config --help',
  unban: '--jail --banned-by --matching --from-file --dry-run --force --as --reason --by --config --help',
  hook: 'ban unban prolong --jail --ip --bantime --time --restored --bancount --failures --config --help',
  flush: '--config --json --background --help',
  pending: '--config --json --help',
  reconcile: '--once --watch --interval --dry-run --force --target --plan --json --config --remote --host --state-dir --branch --metrics-file --help',
  plan: '--target --json --detailed-exitcode --out --config --remote --host --state-dir --branch --metrics-file --help',
  status: '--json --fleet --config --remote --host --state-dir --branch --metrics-file --help',
  gc: '--grace --dry-run --json --config --remote --host --state-dir --branch --metrics-file --help',
  audit: '--ledger --json --since --rev --no-deepen --hosts --config --help',
  serve: '--listen --config --remote --host --state-dir --branch --metrics-file --help',
  doctor: '--config --ledger --json --help',
  demo: '--keep --help',
  review: '--base --head --ledger --format --help',
  completion: 'bash zsh',
};

/** Flags whose value is a directory, a file, or one of a few words (both shells). */
const DIR_FLAGS = ['--ledger', '--state-dir'];
const FILE_FLAGS = ['--config', '--output', '--from-file', '--plan', '--out'];
const FORMATS = 'txt json';

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
    ${DIR_FLAGS.join('|')}) COMPREPLY=( $(compgen -d -- "$cur") ); return ;;
    ${FILE_FLAGS.join('|')}) COMPREPLY=( $(compgen -f -- "$cur") ); return ;;
    --format) COMPREPLY=( $(compgen -W "${FORMATS}" -- "$cur") ); return ;;
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

/** A zsh completion function (`#compdef fail2git`), for a directory on `$fpath`. */
export function zshCompletion(commands: Record<string, { summary: string }>): string {
  const quote = (t: string) => `'${t.replace(/'/g, `'\\''`).replace(/:/g, '\\:')}'`;
  const described = Object.entries(commands).map(([name, c]) => `    ${quote(`${name}:${c.summary}`).replace(/^'([^\\]*?)\\:/, "'$1:")}`).join('\n');
  const cases = Object.keys(commands).map((c) => `    ${c}) opts=(${FLAGS[c] ?? '--help'}) ;;`).join('\n');
  return `#compdef fail2git
# zsh completion for fail2git
_fail2git() {
  local -a commands opts
  commands=(
${described}
  )
  if (( CURRENT == 2 )); then
    _describe -t commands 'fail2git command' commands
    return
  fi
  case \${words[CURRENT-1]} in
    ${DIR_FLAGS.join('|')}) _files -/; return ;;
    ${FILE_FLAGS.join('|')}) _files; return ;;
    --format) compadd -- ${FORMATS}; return ;;
  esac
  case \${words[2]} in
${cases}
    *) opts=(--help) ;;
  esac
  compadd -- \${opts[@]}
}
_fail2git "$@"
`;
}

export const command: Command = {
  help: HELP,
  async run(argv) {
    const parsed = parseFlags(argv, {}, HELP);
    if (!parsed) return 0;
    const shell = parsed.positionals[0] ?? 'bash';
    if (shell !== 'bash' && shell !== 'zsh') throw new UsageError(`completion: "bash" or "zsh", not "${shell}"`);
    const { COMMANDS, commandNames } = await import('../commands.js');
    process.stdout.write(shell === 'zsh' ? zshCompletion(COMMANDS) : bashCompletion(commandNames()));
    return 0;
  },
};
