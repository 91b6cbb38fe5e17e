/**
 * Prometheus textfiles for gc and fleet status, written next to the reconciler's own
 * (`metricsFile`) as separate files: node_exporter's textfile collector reads every `*.prom`
 * in the directory, and separate files mean gc, fleet and reconcile never overwrite each
 * other's figures. Rendering is pure; writing is atomic.
 */
import { dirname, join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { writeFileAtomicSync } from '../lib/files.js';
import { redact } from '../lib/redact.js';





/** Writes `text` as `name` in the directory of the reconciler's metrics file. */
export function writeMetricsFile(metricsFile: string, name: string, text: string): string {
  const dir = dirname(metricsFile);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  writeFileAtomicSync(path, redact(text), { mkdir: true });
  return path;
}
