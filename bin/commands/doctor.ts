/**
 * `fail2git doctor [--config FILE] [--ledger DIR] [--json]`: this host's hardening checks,
 * one line each. Exit 1 when any check fails.
 */
import { EXIT_FINDING, EXIT_OK, parseFlags, out, type Command } from '../cli.js';
import { configPath } from '../../controller/config/host-config.js';
import { formatCheck, runDoctor } from '../../controller/doctor/doctor.js';
import { ntpSynchronized, probePveApi } from '../../controller/doctor/probes.js';
import { execRunner } from '../../controller/lib/exec.js';

const HELP = `Usage: fail2git doctor [--config FILE] [--ledger DIR] [--json]

Checks this host's setup, one line per check (ok / warn / fail / skip):
  config            the host config loads; it is not readable by everyone
  allowed-signers   (requireSignedCommits) the trust file lists keys and is not writable by others
  admin-signers     (requireSignedCommits) adminSigners names who may change allow, policy and
                    targets; warn without it (every allowed key may change everything)
  signing-key       the signing key is private, signs, allowedSigners lists it as fail2git@HOST
                    (valid now), and adminSigners does not (a host key is only a writer)
  remote            git ls-remote reaches the branch (15 s timeout, never prompts)
  ledger-tip        the last run enforced the remote tip; else which commit was held, by which
                    rule (signature, signer role, invalid file) and which signer
  targets           which targets select this host; for each: its programs (ipset, iptables,
                    ip6tables, nft, ip) are installed, its paths exist; pve-api answers over TLS
                    with the configured pin or CA and accepts the token (token file not world-readable)
  clock             within 60 s of the Proxmox API's or an http(s) remote's Date header, else
                    timedatectl's NTPSynchronized; skip when neither is available
Exit 1 when any check fails (warn does not).

  --config FILE   host config (default $FAIL2GIT_CONFIG or /etc/fail2git/config.yaml)
  --ledger DIR    read targets from DIR/bans instead of the host's clone
  --json          the checks as JSON`;

async function httpDate(url: string): Promise<Date | undefined> {
  const res = await fetch(url, { method: 'HEAD', redirect: 'manual', signal: AbortSignal.timeout(5000) });
  const d = res.headers.get('date');
  return d ? new Date(d) : undefined;
}

export const command: Command = {
  help: HELP,
  async run(argv) {
    const parsed = parseFlags<{ config?: string; ledger?: string; json?: boolean }>(
      argv,
      { config: { type: 'string' }, ledger: { type: 'string' }, json: { type: 'boolean' } },
      HELP,
      false,
    );
    if (!parsed) return EXIT_OK;
    const checks = await runDoctor(
      { configPath: configPath(parsed.values.config), ...(parsed.values.ledger ? { ledgerDir: parsed.values.ledger } : {}) },
      { run: execRunner, now: () => new Date(), pathVar: `${process.env.PATH ?? ''}:/usr/sbin:/sbin`, probePve: probePveApi, httpDate, ntpSynchronized: () => ntpSynchronized(execRunner) },
    );
    if (parsed.values.json) out(JSON.stringify(checks, null, 2));
    else for (const c of checks) out(formatCheck(c));
    return checks.some((c) => c.status === 'fail') ? EXIT_FINDING : EXIT_OK;
  },
};
