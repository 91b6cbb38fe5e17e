#!/usr/bin/env node
/**
 * The fail2git CLI. Commands load lazily so the fail2ban hook only pays for what it uses
 * (the hook is on fail2ban's critical path; start-up time matters).
 */
// First: an old Node gets one line before anything else loads.
import './runtime-check.js';
import { EXIT_FINDING, EXIT_USAGE, UsageError, type Command } from './cli.js';
import { Fail2gitError, errorMessage, redact } from '../controller/lib/errors.js';
import { COMMANDS, VERSION } from './commands.js';

function mainHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return [
    `fail2git ${VERSION} — network-wide bans as code`,
    '',
    'Usage: fail2git <command> [flags]     fail2git <command> --help',
    '',
    'Commands:',
    ...lines,
    '',
    'Exit codes: 0 ok, 1 a finding (invalid ledger, refused ban, failed target), 2 usage error.',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(mainHelp() + '\n');
    return name === undefined ? EXIT_USAGE : 0;
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    process.stdout.write(`fail2git ${VERSION}\n`);
    return 0;
  }
  if (!Object.hasOwn(COMMANDS, name)) {
    process.stderr.write(`fail2git: unknown command "${name}" (see fail2git --help)\n`);
    return EXIT_USAGE;
  }
  let mod: { command: Command };
  try {
    // One module per command under ./commands/ (a template import keeps it lazy and bundleable).
    mod = (await import(`./commands/${name}.js`)) as { command: Command };
  } catch (err) {
    const code = missingModule(err, name);
    if (code !== undefined) return code;
    throw err;
  }
  try {
    return await mod.command.run(rest);
  } catch (err) {
    // Commands import their heavier parts lazily too (YAML, ajv, git): the same one line.
    const code = missingModule(err, name);
    if (code !== undefined) return code;
    throw err;
  }
}

/**
 * For a module that cannot be found: this build has no such command module ("not available",
 * exit 2), or one it imports is missing or unreadable (an absent node_modules, or one this user
 * cannot reach: exit 1, naming it). Undefined for any other error.
 */
function missingModule(err: unknown, name: string): number | undefined {
  if ((err as NodeJS.ErrnoException)?.code !== 'ERR_MODULE_NOT_FOUND') return undefined;
  const missing = /Cannot find (?:package|module) '([^']+)'/.exec(String((err as Error).message))?.[1];
  if (missing === undefined || missing.endsWith(`/commands/${name}.js`)) {
    process.stderr.write(`fail2git: "${name}" is not available in this build\n`);
    return EXIT_USAGE;
  }
  process.stderr.write(`fail2git: cannot load "${name}": ${missing} is missing or unreadable for this user (run npm ci, or use the self-contained dist/bundle/)\n`);
  return EXIT_FINDING;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`fail2git: ${redact(err.message)}\n`);
      process.exitCode = EXIT_USAGE;
      return;
    }
    // Expected failures are one line; anything else is a bug and keeps its stack for the report.
    if (err instanceof Fail2gitError || (err as { code?: string })?.code?.startsWith?.('E_')) {
      process.stderr.write(`fail2git: ${errorMessage(err)}\n`);
    } else {
      process.stderr.write(`fail2git: internal error: ${errorMessage(err)}\n${redact((err as Error)?.stack ?? '')}\n`);
    }
    process.exitCode = EXIT_FINDING;
  },
);
