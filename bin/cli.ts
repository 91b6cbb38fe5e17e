/**
 * Shared plumbing for commands: flag parsing with --help, exit codes, and the
 * `--ledger DIR` default. Exit codes: 0 ok, 1 a finding (invalid ledger, refused ban,
 * failed target), 2 usage errors.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const EXIT_OK = 0;
export const EXIT_FINDING = 1;
export const EXIT_USAGE = 2;

export class UsageError extends Error {
  readonly code = 'E_USAGE';
}

export interface Command {
  /** full text for `fail2git <cmd> --help` */
  help: string;
  run(argv: string[]): Promise<number>;
}

type Options = NonNullable<ParseArgsConfig['options']>;

export interface Parsed<T> {
  values: T;
  positionals: string[];
}

/**
 * Parses flags strictly; `--help` prints the command's help and exits 0.
 * Unknown flags and missing values become UsageError (exit 2).
 */
export function parseFlags<T = Record<string, string | boolean | string[] | undefined>>(
  argv: string[],
  options: Options,
  help: string,
  allowPositionals = true,
): Parsed<T> | null {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(help.endsWith('\n') ? help : help + '\n');
    return null;
  }
  try {
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals, strict: true });
    return { values: values as T, positionals };
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0]);
  }
}

/**
 * The ledger a command reads: `--ledger DIR`, else the current directory when it holds
 * `bans/`, else the host's clone under its stateDir (resolved by the caller from config).
 */
export function defaultLedgerDir(flag: string | undefined, hostClone?: () => string): string {
  if (flag) return flag;
  if (existsSync(join(process.cwd(), 'bans'))) return process.cwd();
  if (hostClone) return hostClone();
  throw new UsageError('no ledger here: pass --ledger DIR (a directory holding bans/)');
}

export function out(line: string): void {
  process.stdout.write(line + '\n');
}

export function err(line: string): void {
  process.stderr.write(line + '\n');
}
