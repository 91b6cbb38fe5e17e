// After tsc: mark the CLI entry executable (npm links it as `fail2git`) and bundle the
// whole CLI into one file, dist/fail2git.mjs, that a host runs with nothing but Node 20
// (`node fail2git.mjs …`): no node_modules, no npm on the host.
import { chmodSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = fileURLToPath(new URL('../dist/bin/fail2git.js', import.meta.url));
const bundle = fileURLToPath(new URL('../dist/fail2git.mjs', import.meta.url));
if (existsSync(entry)) chmodSync(entry, 0o755);

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  console.error('post-build: esbuild not installed (production install?): skipping dist/fail2git.mjs');
  process.exit(0);
}
await esbuild.build({
  entryPoints: [entry],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outfile: bundle,
  logLevel: 'warning',
  legalComments: 'none',
  // CommonJS dependencies (ajv, ipaddr.js) call require(); give the ESM bundle one.
  banner: {
    js: "import { createRequire as __fail2gitRequire } from 'node:module';\nconst require = __fail2gitRequire(import.meta.url);",
  },
});
chmodSync(bundle, 0o755);
