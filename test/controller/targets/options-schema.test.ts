/**
 * A Target document that the driver accepts must also pass the ledger's schema, and the
 * other way round: otherwise a documented option could never be used from targets.yaml.
 * Every option each driver knows is given here at once.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseLedgerFiles } from '../../../controller/ledger/load.js';
import { createTarget } from '../../../controller/targets/index.js';
import type { TargetDoc } from '../../../controller/ledger/types.js';
import { execRunner } from '../../../controller/lib/exec.js';
import { cleanupTmp, tmpDir } from '../../helpers/tmp.js';

afterAll(cleanupTmp);

const dir = tmpDir('f2g-opts');
const secret = join(dir, 'token');
writeFileSync(secret, 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee\n', { mode: 0o600 });

const FULL: Record<string, Record<string, unknown>> = {
  ipset: { setName: 'fail2git', enforce: 'both', maxEntries: 65536 },
  nftables: { table: 'fail2git', enforce: 'forward', maxEntries: 100 },
  route: { proto: 250, maxEntries: 1000 },
  file: { path: join(dir, 'list.txt'), format: 'json', maxEntries: 5000 },
  // lockDir and corosyncPath follow from path on the host; the ledger may not name them.
  'pve-clusterfw': { path: join(dir, 'cluster.fw'), ipset: 'blacklist', lockTimeoutMs: 5000, maxBytes: 900000, maxEntries: 10000 },
  // url, token and pin come from the host's pveCredentials entry the target names.
  'pve-api': { credential: 'dc', ipset: 'fail2ban', concurrency: 2, retries: 3, retryBaseMs: 100, timeoutMs: 10000, progressEvery: 50, maxEntries: 3000 },
};

const sinks = {
  stateDir: join(dir, 'state'), configPath: 'config.yaml',
  writablePaths: { file: [`${dir}/`], 'pve-clusterfw': [join(dir, 'cluster.fw')] },
  pveCredentials: { dc: { url: 'https://pve1.example.com:8006', tokenId: 'sync@pve!fail2git', tokenSecretFile: secret, fingerprint: 'AB:'.repeat(31) + 'AB' } },
};

function targetsYaml(driver: string, options: Record<string, unknown>): string {
  return `apiVersion: fail2git/v1\nkind: Target\nmetadata: {name: t}\nspec:\n  driver: ${driver}\n  options: ${JSON.stringify(options)}\n`;
}

const silent = { info() {}, warn() {}, error() {} };

describe('Target options: schema and drivers agree', () => {
  for (const [driver, options] of Object.entries(FULL)) {
    it(`${driver}: every option the driver knows passes the schema and the driver`, async () => {
      const { ledger, problems } = parseLedgerFiles({ 'bans/targets.yaml': targetsYaml(driver, options) }, { dir });
      expect(problems.map((p) => p.message)).toEqual([]);
      const doc = ledger.targets[0] as TargetDoc;
      const target = await createTarget(doc, { run: execRunner, log: silent, now: () => new Date(), host: 'h1', sinks });
      expect(target.driver).toBe(driver);
    });
  }

  it('pve set names must be lower case in the schema, as the drivers require', () => {
    const { problems } = parseLedgerFiles({ 'bans/targets.yaml': targetsYaml('pve-clusterfw', { ipset: 'Fail2ban' }) }, { dir });
    expect(problems).toHaveLength(1);
    expect(problems[0]!.file).toBe('bans/targets.yaml');
  });
});
