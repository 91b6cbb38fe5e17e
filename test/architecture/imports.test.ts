/**
 * The house's boundaries (docs/architecture.md), measured on the sources: no import circle,
 * no upward import, and `controller/` holds only the step list at its root.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/git.js';
import { importCircles, importGraph, type ImportGraph } from '../helpers/import-graph.js';

const graph = importGraph(REPO_ROOT, ['bin', 'controller', 'hooks']);
const edges = [...graph].flatMap(([from, deps]) => [...deps].map((to) => ({ from, to })));

/** What each part of the tree may import besides itself. */
const HOOKS_MAY_USE = /^controller\/(ledger|net|config|git|lib|generated)\//;

describe('import boundaries', () => {
  it('sees the whole tree (the graph is not empty, dynamic imports count)', () => {
    expect(graph.size).toBeGreaterThan(100);
    expect(graph.get('bin/commands/gc.ts')).toContain('controller/gc/run.ts');
  });

  it('has no import circle', () => {
    expect(importCircles(graph)).toEqual([]);
  });

  it('finds a circle when there is one (the check can fail)', () => {
    const g: ImportGraph = new Map([
      ['a.ts', new Set(['b.ts'])],
      ['b.ts', new Set(['c.ts'])],
      ['c.ts', new Set(['a.ts'])],
      ['d.ts', new Set(['a.ts'])],
    ]);
    expect(importCircles(g)).toEqual([['a.ts', 'b.ts', 'c.ts']]);
  });

  it('controller/ never imports hooks/ or bin/; hooks/ never imports bin/', () => {
    const up = edges.filter(({ from, to }) => (from.startsWith('controller/') && /^(hooks|bin)\//.test(to)) || (from.startsWith('hooks/') && to.startsWith('bin/')));
    expect(up).toEqual([]);
  });

  it('hooks/ uses only the ledger, address, config, git and lib code', () => {
    const bad = edges.filter(({ from, to }) => from.startsWith('hooks/') && !to.startsWith('hooks/') && !HOOKS_MAY_USE.test(to));
    expect(bad).toEqual([]);
  });

  it('controller/lib/ imports nothing else of ours', () => {
    const bad = edges.filter(({ from, to }) => from.startsWith('controller/lib/') && !to.startsWith('controller/lib/'));
    expect(bad).toEqual([]);
  });

  it('controller/ keeps only reconcile.ts at its root; the rest are concept folders', () => {
    const dir = join(REPO_ROOT, 'controller');
    const files = readdirSync(dir).filter((n) => !statSync(join(dir, n)).isDirectory());
    expect(files).toEqual(['reconcile.ts']);
  });
});
