// Marks the CLI entry executable after tsc (npm links it as `fail2git`).
import { chmodSync, existsSync } from 'node:fs';
const entry = new URL('../dist/bin/fail2git.js', import.meta.url);
if (existsSync(entry)) chmodSync(entry, 0o755);
