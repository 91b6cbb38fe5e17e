// After tsc: mark the CLI entry executable (npm links it as `fail2git`) and bundle the CLI
// for hosts that have nothing but Node ≥ 18.19 (no node_modules, no npm):
//   dist/fail2git.mjs   one file (`node fail2git.mjs …`): the simplest thing to copy;
//   dist/bundle/        the same (entry dist/bundle/fail2git.mjs), split into chunks loaded on demand: the fail2ban hook
//                       starts faster (it parses only its own chunks, not the whole CLI).
import { chmodSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const entry = fileURLToPath(new URL('../dist/bin/fail2git.js', import.meta.url));
const bundle = fileURLToPath(new URL('../dist/fail2git.mjs', import.meta.url));
const splitDir = fileURLToPath(new URL('../dist/bundle', import.meta.url));
if (existsSync(entry)) chmodSync(entry, 0o755);

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  console.error('post-build: esbuild not installed (production install?): skipping dist/fail2git.mjs');
  process.exit(0);
}
const common = {
  entryPoints: [entry],
  bundle: true,
  platform: 'node',
  format: 'esm',
  // The distributions' own Node: Debian 12 / Ubuntu 24.04 / Proxmox VE 8 ship 18.19+.
  target: 'node18.19',
  logLevel: 'warning',
  legalComments: 'none',
  // CommonJS dependencies (ajv, ipaddr.js) call require(); give the ESM bundle one.
  banner: {
    js: "import { createRequire as __fail2gitRequire } from 'node:module';\nconst require = __fail2gitRequire(import.meta.url);",
  },
};
rmSync(splitDir, { recursive: true, force: true });
await Promise.all([
  esbuild.build({ ...common, outfile: bundle }),
  esbuild.build({ ...common, splitting: true, outdir: splitDir, chunkNames: 'chunks/[name]-[hash]', outExtension: { '.js': '.mjs' } }),
]);
chmodSync(bundle, 0o755);
chmodSync(join(splitDir, 'fail2git.mjs'), 0o755);
// The single file also travels inside the chunked bundle (dist/bundle/ci/), so `fail2git init`
// run from any install can put a copy into a new ledger for its CI (controller/init/ci-build.ts).
// Minified: it is committed into every ledger.
await esbuild.build({ ...common, minify: true, outfile: join(splitDir, 'ci', 'fail2git.mjs') });
