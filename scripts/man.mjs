// Man pages from the CLI's own --help texts, so they cannot drift from it:
//   fail2git(1)        the command list, files, exit codes;
//   fail2git-CMD(1)    one per command: its summary, usage and the whole --help text.
// `node scripts/man.mjs OUTDIR` (after `npm run build`) writes OUTDIR/*.1; the package
// build (scripts/package.mjs) gzips them into /usr/share/man/man1/.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'dist', 'bin', 'fail2git.js');

/** Text as roff: backslashes and hyphens escaped, no line read as a request. */
export function roffText(text) {
  return text
    .replace(/\\/g, '\\e')
    .replace(/-/g, '\\-')
    .split('\n')
    .map((l) => (/^[.']/.test(l) ? `\\&${l}` : l))
    .join('\n');
}

function help(args) {
  return execFileSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, FAIL2GIT_CONFIG: '/nonexistent' } });
}

/** The date in the page footer: the last commit's, so a rebuild of one commit is byte-identical. */
function pageDate() {
  if (process.env.SOURCE_DATE_EPOCH) return new Date(Number(process.env.SOURCE_DATE_EPOCH) * 1000).toISOString().slice(0, 10);
  try {
    return execFileSync('git', ['log', '-1', '--format=%cs'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || '2026-01-01';
  } catch {
    return '2026-01-01';
  }
}

function header(name, version, date) {
  return `.TH ${name.toUpperCase().replace(/-/g, '\\-')} 1 "${date}" "fail2git ${version}" "fail2git manual"\n`;
}

/** One command's page. */
export function commandPage(cmd, summary, helpText, version, date) {
  const lines = helpText.replace(/\n+$/, '').split('\n');
  const usage = [];
  while (lines.length > 0 && (usage.length === 0 ? /^Usage:/.test(lines[0]) : /^\s{2,}\S/.test(lines[0]) && usage.length < 6)) {
    usage.push(lines.shift().replace(/^Usage:\s*/, '').trim());
  }
  while (lines.length > 0 && lines[0].trim() === '') lines.shift();
  return header(`fail2git-${cmd}`, version, date) +
    `.SH NAME\nfail2git\\-${cmd} \\- ${roffText(summary)}\n` +
    `.SH SYNOPSIS\n.nf\n${roffText(usage.length > 0 ? usage.join('\n') : `fail2git ${cmd} [flags]`)}\n.fi\n` +
    `.SH DESCRIPTION\n.nf\n${roffText(lines.join('\n'))}\n.fi\n` +
    `.SH SEE ALSO\n.BR fail2git (1)\n`;
}

/** The overview page. */
export function mainPage(commands, version, date) {
  const list = Object.entries(commands).map(([c, { summary }]) => `.TP\n.BR fail2git\\-${c} (1)\n${roffText(summary)}`).join('\n');
  return header('fail2git', version, date) +
    '.SH NAME\nfail2git \\- network\\-wide fail2ban bans as code, reconciled from a git ledger\n' +
    '.SH SYNOPSIS\n.nf\nfail2git COMMAND [flags]\nfail2git COMMAND \\-\\-help\nfail2git \\-\\-version\n.fi\n' +
    '.SH DESCRIPTION\nfail2ban hooks commit ban and unban records (with TTLs) to a git repository of declarative YAML,\n' +
    'the ledger; a reconciler on each enforcing host pulls it and brings ipset, nftables, blackhole routes,\n' +
    'URL\\-table lists and Proxmox firewalls into line with it. People ban and unban by pull request;\n' +
    '.B git log\nis the audit trail.\n' +
    `.SH COMMANDS\n${list}\n` +
    '.SH FILES\n.TP\n.I /etc/fail2git/config.yaml\nthe host config (remote, host name, state directory, writable paths, Proxmox credentials)\n' +
    '.TP\n.I /var/lib/fail2git\nthe state directory: the ledger clone, the spool, status.json\n' +
    '.TP\n.I /etc/fail2ban/action.d/fail2git.conf\nthe fail2ban action (a shell action: the default)\n' +
    '.TP\n.I /etc/fail2ban/action.d/fail2git.py\nthe same action in fail2ban-server\'s own process (faster, for busy jails)\n' +
    '.TP\n.I /usr/share/doc/fail2git/\nREADME, docs and examples\n' +
    '.SH EXIT STATUS\n0 ok, 1 a finding (invalid ledger, refused ban, failed target), 2 a usage error.\n' +
    '.SH SEE ALSO\n.BR fail2ban (1),\n.BR git (1),\n.BR ipset (8),\n.BR nft (8)\n';
}

export async function writeManPages(outDir) {
  const { COMMANDS, VERSION } = await import(join(ROOT, 'dist', 'bin', 'commands.js'));
  const date = pageDate();
  mkdirSync(outDir, { recursive: true });
  const written = ['fail2git.1'];
  writeFileSync(join(outDir, 'fail2git.1'), mainPage(COMMANDS, VERSION, date));
  for (const [cmd, { summary }] of Object.entries(COMMANDS)) {
    writeFileSync(join(outDir, `fail2git-${cmd}.1`), commandPage(cmd, summary, help([cmd, '--help']), VERSION, date));
    written.push(`fail2git-${cmd}.1`);
  }
  return written;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = process.argv[2] ?? join(ROOT, 'dist', 'man');
  const pages = await writeManPages(out);
  console.log(`man: ${pages.length} pages in ${out}`);
}
