/**
 * A small fleet on a real remote, for serve's page and `audit --hosts`: three commits (seed,
 * ban 192.0.2.10 by web1, ban 203.0.113.7 by web2, with trailers as the writers put them),
 * status records of web1 (at the tip), db1 (one behind) and web2 (two behind, failing), and a
 * host config for `serve1` whose reconciler has accepted the tip.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { runCli } from './cli.js';
import { makeLedgerRemote, type LedgerRemote } from './git.js';
import { banList, ledgerFiles } from './fixtures.js';
import { tmpDir } from './tmp.js';
import { publishHostStatus, type FleetRecord } from '../../controller/fleet/remote.js';

export interface FleetFixture {
  remote: LedgerRemote;
  dir: string;
  config: string;
  commits: { seed: string; ban10: string; ban7: string };
}

const later = (ms: number) => new Date(Date.now() + ms);
const trailers = (op: string, cidr: string, host: string, jail: string) => `\n\nFail2git-Op: ${op}\nFail2git-Cidr: ${cidr}\nFail2git-Host: ${host}\nFail2git-Jail: ${jail}`;

function record(host: string, applied: string, targets: FleetRecord['targets'], extra: Partial<FleetRecord> = {}): Omit<FleetRecord, 'seen'> {
  return { version: 1, host, appliedCommit: applied, reason: 'UpToDate', runAt: new Date().toISOString(), targets, software: '0.1.0', interval: '30s', ...extra };
}

export async function fleetFixture(serveSettings = ['serve:', '  listen: 127.0.0.1:0']): Promise<FleetFixture> {
  const dir = tmpDir('f2g-fleet-fixture');
  const bans = [{ cidr: '198.51.100.0/24', expires: later(86_400_000) }];
  const remote = makeLedgerRemote(ledgerFiles({ bans, targets: [{ name: 'elsewhere', hosts: ['nobody-here'] }] }));
  const seed = remote.head();
  bans.push({ cidr: '192.0.2.10', expires: later(2 * 3_600_000) });
  const ban10 = remote.commit({ 'bans/active.yaml': banList(bans) }, `ban 192.0.2.10${trailers('ban', '192.0.2.10', 'web1', 'sshd')}`);
  bans.push({ cidr: '203.0.113.7', expires: later(1_800_000) });
  const ban7 = remote.commit({ 'bans/active.yaml': banList(bans) }, `ban 203.0.113.7${trailers('ban', '203.0.113.7', 'web2', 'nginx')}`);
  const fleet = (h: string) => ({ remote: remote.bare, branch: 'main', stateDir: join(dir, `fleet-${h}`) });
  await publishHostStatus(fleet('web1'), record('web1', ban7, { kernel: { entries: 3 }, edge: { entries: 3 } }));
  await publishHostStatus(fleet('web2'), record('web2', seed, { kernel: { entries: 1 } }, { reason: 'PullFailed', lastError: 'cannot reach the ledger remote' }));
  await publishHostStatus(fleet('db1'), record('db1', ban10, { kernel: { entries: 2 } }));
  const config = join(dir, 'config.yaml');
  writeFileSync(config, [`remote: ${remote.bare}`, 'host: serve1', `stateDir: ${join(dir, 'state')}`, ...serveSettings, ''].join('\n'));
  const r = runCli(['reconcile', '--once', '--config', config]);
  expect(r.stderr).toContain('ledger.accepted');
  return { remote, dir, config, commits: { seed, ban10, ban7 } };
}
