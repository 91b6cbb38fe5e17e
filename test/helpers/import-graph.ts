/**
 * The project's own import graph, read from the sources: every relative specifier in a static
 * `import`/`export … from`, an `import type`, a dynamic `import('…')` or a `typeof import('…')`.
 * Used by the boundary test (test/architecture/imports.test.ts) and handy from a REPL.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

export type ImportGraph = Map<string, Set<string>>;

const SPECIFIER = /(?:from\s+|import\s*\(\s*|import\s+)(['"])(\.{1,2}\/[^'"]+)\1/g;

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sourceFiles(p, out);
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Files (repo-relative, `.ts`) under `roots`, each with the project files it imports. */
export function importGraph(repoRoot: string, roots: string[]): ImportGraph {
  const graph: ImportGraph = new Map();
  for (const r of roots) {
    for (const file of sourceFiles(join(repoRoot, r))) {
      const from = relative(repoRoot, file);
      const deps = new Set<string>();
      const text = readFileSync(file, 'utf8').replace(/^\s*(\/\/|\*).*$/gm, '');
      for (const m of text.matchAll(SPECIFIER)) {
        const target = relative(repoRoot, resolve(dirname(file), m[2]!)).replace(/\.js$/, '.ts');
        if (!target.endsWith('.json')) deps.add(target);
      }
      graph.set(from, deps);
    }
  }
  return graph;
}

/** Every import circle, each as the list of files around it (Tarjan's strongly connected components). */
export function importCircles(graph: ImportGraph): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const circles: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || graph.get(v)?.has(v)) circles.push(comp.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return circles;
}
