/**
 * `fail2git plan`: what each of this host's targets would add and remove, like
 * `terraform plan`. It fetches and observes but never changes a target.
 */
import { EXIT_FINDING, EXIT_OK, EXIT_USAGE, err, out, parseFlags, type Command } from '../cli.js';
import { createJsonLogger } from '../../controller/lib/log.js';
import { reconcile, type ReconcileDeps, type RunResult } from '../../controller/reconcile.js';
import { execRunner } from '../../controller/lib/exec.js';
import { CONFIG_FLAGS, CONFIG_FLAGS_HELP, commitVerifier, createTarget, resolveHostConfig, short, type ConfigFlagValues } from './_reconcile.js';

const HELP = `Usage: fail2git plan [--json] [--target NAME]... [--detailed-exitcode] [--out FILE]
                     [--config FILE | --remote URL ...]

Shows, per target of this host, the entries a reconcile would add (+) and remove (-),
then a summary. Fetches the ledger like reconcile does, observes every target, changes
nothing. Removals the removal guard would refuse are marked "held". Entries covered by a
broader ban are "folded" (not enforced separately); a full target "leaves out" the least
important entries (docs/reconcile.md, "Capacity").

  --json               {host, commit, tip, tipProblems, desired, targets: [{name, driver,
                       add, remove, held, repair, folded, leftOut, capacity?, guard?,
                       error?}], add, remove}
  --target NAME        only this target (repeatable)
  --detailed-exitcode  exit 3 when there are changes (0 = none, 1 = error)
  --out FILE           also save the plan (host, commit, per target the networks to add and
                       remove); fail2git reconcile --plan FILE applies exactly it, or refuses
                       a target whose plan has changed since
${CONFIG_FLAGS_HELP}

Exit: 0 planned (with or without changes), 1 a target could not be observed or the tip
is invalid / unreachable (the plan is against the last good commit), 2 usage error;
with --detailed-exitcode, 3 when a run would change something and nothing failed.
(2 is fail2git's usage error everywhere, so changes use 3, unlike terraform's 2.)`;

export const EXIT_CHANGES = 3;

type Values = ConfigFlagValues & { json?: boolean; target?: string[]; 'detailed-exitcode'?: boolean; out?: string };

export const command: Command = {
  help: HELP,
  async run(argv) {
    const parsed = parseFlags<Values>(argv, {
      ...CONFIG_FLAGS, json: { type: 'boolean' }, target: { type: 'string', multiple: true }, 'detailed-exitcode': { type: 'boolean' }, out: { type: 'string' },
    }, HELP, false);
    if (!parsed) return EXIT_OK;
    const v = parsed.values;
    const cfg = await resolveHostConfig(v);
    // Logs only for warnings and errors: the plan itself is the output.
    const deps: ReconcileDeps = { run: execRunner, log: createJsonLogger({ base: { host: cfg.host }, quiet: true }), now: () => new Date(), createTarget };
    const verify = await commitVerifier(cfg);
    if (verify) deps.verifyCommit = verify;
    const result = await reconcile(cfg, { dryRun: true, ...(v.target && { targets: v.target }) }, deps);
    if (v.json) out(JSON.stringify(planJson(result), null, 2));
    else out(renderPlan(result));
    if (result.unknownTargets.length > 0) {
      err(`fail2git: no target named ${result.unknownTargets.map((n) => JSON.stringify(n)).join(', ')} for host ${cfg.host}`);
      return EXIT_USAGE;
    }
    if (v.out !== undefined) {
      const applied = result.status.commit.applied;
      if (!applied) {
        err(`fail2git: no good ledger commit to plan against; ${v.out} not written`);
        return EXIT_FINDING;
      }
      const { savedPlanOf } = await import('../../controller/plan/saved-plan.js');
      const { writeFileAtomicSync } = await import('../../controller/lib/files.js');
      writeFileAtomicSync(v.out, JSON.stringify(savedPlanOf(cfg.host, applied, new Date(), result.targets), null, 2) + '\n', { mode: 0o644 });
      err(`fail2git: plan saved to ${v.out}; apply exactly it with: fail2git reconcile --plan ${v.out}`);
    }
    if (!result.status.ok) return EXIT_FINDING;
    const changes = result.targets.some((t) => t.plan.add.length + t.plan.remove.length > 0 || t.repair);
    return v['detailed-exitcode'] && changes ? EXIT_CHANGES : EXIT_OK;
  },
};

function planJson(r: RunResult): Record<string, unknown> {
  const s = r.status;
  const targets = r.targets.map((t) => {
    const held = new Set(t.held);
    return {
      name: t.name, driver: t.driver, entries: t.entries,
      add: t.plan.add.map((a) => a.cidr),
      remove: t.plan.remove.filter((x) => !held.has(x)).map((x) => x.cidr),
      held: t.held.map((x) => x.cidr),
      repair: t.repair,
      folded: t.folded,
      leftOut: t.leftOut,
      ...(t.capacity !== undefined && { capacity: t.capacity }),
      ...(t.guard && { guard: t.guard }),
      ...(t.error && { error: t.error }),
    };
  });
  return {
    host: s.host, commit: s.commit.applied ?? null, tip: s.commit.tip ?? null, tipProblems: s.commit.tipProblems,
    remote: s.remote, desired: s.desired, targets,
    add: targets.reduce((n, t) => n + t.add.length, 0),
    remove: targets.reduce((n, t) => n + t.remove.length + t.held.length, 0),
  };
}

/** Terraform-like text: per target `+ cidr` / `- cidr`, then a summary line. */
export function renderPlan(r: RunResult): string {
  const s = r.status;
  const lines = [`fail2git plan for ${s.host} at ${short(s.commit.applied)} (${s.desired.entries} desired)`];
  if (s.commit.tipProblems.length > 0) lines.push(`! tip ${short(s.commit.tip)} is invalid, planning against the last good commit: ${s.commit.tipProblems[0]}`);
  if (s.guard && !s.guard.forced) lines.push(`! ${short(s.commit.applied)} loosens the guard; the stricter limits of ${short(s.guard.limitsOf)} apply until it is enforced in full: ${s.guard.kept.join('; ')}`);
  if (!s.remote.reachable) lines.push(`! remote unreachable (${s.remote.error ?? 'unknown error'}); planning against the last fetched commit`);
  if (!s.commit.applied) lines.push(`! no good ledger commit: nothing to plan (${s.message})`);
  lines.push('');
  let add = 0;
  let remove = 0;
  let changed = 0;
  for (const t of r.targets) {
    const n = t.plan.add.length + t.plan.remove.length;
    const notes = [
      ...(t.folded > 0 ? [`${t.folded} folded into broader entries`] : []),
      ...(t.leftOut > 0 ? [`FULL: ${t.leftOut} left out${t.capacity !== undefined ? `, capacity ${t.capacity}` : ''}`] : []),
    ];
    const note = notes.length > 0 ? `; ${notes.join('; ')}` : '';
    if (t.error && n === 0) {
      lines.push(`target ${t.name} (${t.driver}): ERROR ${t.error}`);
      continue;
    }
    if (n === 0 && !t.repair) {
      lines.push(`target ${t.name} (${t.driver}): no changes (${t.entries} entries${note})`);
      continue;
    }
    changed++;
    add += t.plan.add.length;
    remove += t.plan.remove.length;
    lines.push(`target ${t.name} (${t.driver}): ${t.plan.add.length} to add, ${t.plan.remove.length} to remove (holds ${t.entries}${note})`);
    for (const a of t.plan.add) lines.push(`  + ${a.cidr}${a.expires ? `  (until ${a.expires})` : ''}`);
    const held = new Set(t.held.map((h) => h.cidr));
    for (const x of t.plan.remove) lines.push(`  - ${x.cidr}${held.has(x.cidr) ? '  (held: removal guard)' : ''}`);
    if (t.repair) lines.push('  ~ restore the rules that enforce these entries (edited or deleted by hand)');
    if (t.guard) lines.push(`  ! ${t.guard}`);
  }
  lines.push('', changed === 0 ? 'No changes. Every target is in line with the ledger.' : `Plan: ${add} to add, ${remove} to remove, across ${changed} of ${r.targets.length} target(s).`);
  return lines.join('\n');
}
