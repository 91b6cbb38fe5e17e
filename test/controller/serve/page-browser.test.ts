/**
 * The fleet page in a real browser: Debian's chromium (headless) loads the page `fail2git
 * serve` renders for a fixture fleet (three hosts at different commits of a real remote), and
 * its DOM is checked for the hosts, their lag and one address's receipts. A screenshot is
 * taken; FAIL2GIT_UPDATE_SCREENSHOT=1 writes it to docs/serve.png (the README shows it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CLI } from '../../helpers/cli.js';
import { REPO_ROOT } from '../../helpers/git.js';
import { fleetFixture } from '../../helpers/fleet-hosts.js';
import { cleanupTmp, tmpDir } from '../../helpers/tmp.js';

const haveChromium = spawnSync('which', ['chromium']).status === 0;
if (!haveChromium && process.env.CI === 'true') throw new Error('chromium missing (apt-get install chromium); required when CI=true');

function chromium(args: string[]): string {
  const profile = tmpDir('f2g-chromium');
  const r = spawnSync('chromium', ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-extensions', `--user-data-dir=${profile}`, '--window-size=1280,1700', ...args], {
    encoding: 'utf8', timeout: 90_000, maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`chromium failed (${r.status}): ${r.stderr.slice(-2000)}`);
  return r.stdout;
}

describe.skipIf(!haveChromium)('the fleet page in headless Chromium', () => {
  let serve: ChildProcess;
  let url = '';
  const commits: Record<string, string> = {};

  beforeAll(async () => {
    const f = await fleetFixture();
    Object.assign(commits, f.commits);
    const config = f.config;
    serve = spawn(process.execPath, [CLI, 'serve', '--config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    const address = await new Promise<string>((resolve, reject) => {
      let text = '';
      serve.stderr!.on('data', (b: Buffer) => {
        text += b.toString();
        const m = /"event":"serve\.listening".*?"address":"([^"]+)"/.exec(text);
        if (m) resolve(m[1]!);
      });
      serve.once('exit', (code) => reject(new Error(`serve exited ${code}: ${text}`)));
    });
    url = `http://${address}/`;
    // The fleet's records are read beside start-up; wait until the page shows them.
    for (let i = 0; i < 100 && !(await (await fetch(url)).text()).includes('data-host="web2"'); i++) await new Promise((res) => setTimeout(res, 100));
  }, 120_000);

  afterAll(() => {
    serve?.kill('SIGTERM');
    cleanupTmp();
  });

  it('shows every host with its applied commit, lag in commits and time, last run and per-target counts', () => {
    const dom = chromium(['--dump-dom', url]);
    const row = (host: string) => new RegExp(`<tr data-host="${host}">(.*?)</tr>`, 's').exec(dom)?.[1] ?? '';
    expect(row('web1')).toContain(commits.ban7!.slice(0, 12));
    expect(row('web1')).toMatch(/class="lag"><span class="ok">up to date/);
    expect(row('web1')).toContain('kernel: 3');
    expect(row('web2')).toMatch(/class="lag"><span class="warn">2 commits/);
    expect(row('web2')).toContain('PullFailed');
    expect(row('web2')).toContain('cannot reach the ledger remote');
    expect(row('db1')).toMatch(/class="lag"><span class="warn">1 commit</);
    expect(dom).toContain('id="chart"');
    expect(dom).toMatch(/<tr data-cidr="192\.0\.2\.10">/);
    expect(dom).not.toMatch(/<script/i);
  }, 120_000);

  it('shows an address\'s receipts (enforced since when, or not yet) and its audit timeline, without JavaScript', () => {
    const dom = chromium(['--dump-dom', `${url}?address=192.0.2.10`]);
    const receipt = (host: string) => new RegExp(`id="receipts-table".*?<tr data-host="${host}">(.*?)</tr>`, 's').exec(dom)?.[1] ?? '';
    expect(receipt('web1')).toMatch(/class="state ok">enforced</);
    expect(receipt('db1')).toMatch(/class="state ok">enforced</);
    expect(receipt('db1')).toMatch(/class="since">\d{4}-\d\d-\d\dT/);
    expect(receipt('web2')).toMatch(/class="state warn">not yet</);
    expect(dom).toMatch(/id="timeline-table".*banned.*192\.0\.2\.10/s);
    // the bans table is filtered to the address by the same GET parameter
    expect(dom).toMatch(/Bans \(1 of 3\)/);
  }, 120_000);

  it('takes a screenshot of the page', () => {
    const shot = join(tmpDir('f2g-shot'), 'serve.png');
    chromium([`--screenshot=${shot}`, `${url}?address=192.0.2.10`]);
    expect(existsSync(shot) && statSync(shot).size).toBeGreaterThan(10_000);
    if (process.env.FAIL2GIT_UPDATE_SCREENSHOT === '1') copyFileSync(shot, join(REPO_ROOT, 'docs', 'serve.png'));
  }, 120_000);
});
