/**
 * Monitoring as shipped (deploy/prometheus/, deploy/grafana/): Prometheus's own promtool checks
 * and unit-tests the alert rules, every metric the rules and the dashboard read is one
 * fail2git writes, and the spool's textfile passes `promtool check metrics`.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/git.js';
import { IN_CI } from '../helpers/netns.js';
import { renderSpoolMetrics } from '../../hooks/spool.js';

const PROM = join(REPO_ROOT, 'deploy/prometheus');
const RULES = join(PROM, 'fail2git.rules.yml');
const DASHBOARD = join(REPO_ROOT, 'deploy/grafana/fail2git.json');
const havePromtool = spawnSync('promtool', ['--version']).status === 0;
if (!havePromtool && IN_CI) throw new Error('promtool missing (apt-get install prometheus); required when CI=true');

/** Every fail2git_* metric name the sources write (they all appear as string literals). */
function exportedMetrics(): Set<string> {
  const names = new Set<string>();
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir)) {
      const p = join(dir, e);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith('.ts')) for (const m of readFileSync(p, 'utf8').matchAll(/\bfail2git_[a-z0-9_]+/g)) names.add(m[0]);
    }
  };
  walk(join(REPO_ROOT, 'controller'));
  walk(join(REPO_ROOT, 'hooks'));
  return names;
}

const used = (text: string) => [...new Set([...text.matchAll(/\bfail2git_[a-z0-9_]+/g)].map((m) => m[0]))];

describe('alert rules and dashboard', () => {
  const rules = readFileSync(RULES, 'utf8');
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: { title: string; targets: { expr: string }[] }[] };

  it('read only metrics fail2git exports', () => {
    const exported = exportedMetrics();
    const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)).join('\n');
    for (const name of [...used(rules.replace(/^\s*#.*$/gm, '')), ...used(exprs)]) expect(exported, name).toContain(name);
  });

  it('alert on what the issue lists: remote, held tip, failing target, silent host, spool backlog and refusals, capacity', () => {
    const alerts = [...rules.matchAll(/- alert: (\w+)/g)].map((m) => m[1]);
    expect(alerts).toEqual(expect.arrayContaining(['Fail2gitRemoteUnreachable', 'Fail2gitTipHeld', 'Fail2gitTargetFailing', 'Fail2gitHostSilent',
      'Fail2gitSpoolBacklog', 'Fail2gitSpoolNotDelivering', 'Fail2gitSpoolRefusals', 'Fail2gitTargetOverCapacity']));
  });

  it('the dashboard is one Grafana JSON model with a Prometheus datasource variable', () => {
    expect(dashboard.panels.length).toBeGreaterThan(8);
    expect(JSON.stringify(dashboard)).toContain('"${datasource}"');
  });
});

describe.skipIf(!havePromtool)('promtool', () => {
  it('check rules accepts the rules', () => {
    const r = spawnSync('promtool', ['check', 'rules', RULES], { encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });

  it('test rules: each alert fires on its failure and not on a healthy host', () => {
    const r = spawnSync('promtool', ['test', 'rules', 'fail2git.rules.test.yml'], { cwd: PROM, encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('SUCCESS');
  });

  it('check metrics accepts a fail2ban host\'s spool textfile', () => {
    const text = renderSpoolMetrics({ pending: 1, refused: 0, bad: 0, oldestPendingAgeSeconds: 5, lastFlushSuccessSeconds: 1_700_000_000 });
    const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });
});
