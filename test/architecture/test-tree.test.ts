/**
 * test/ mirrors the tree: every folder under test/ is a folder of the sources (bin/,
 * controller/…, hooks/, deploy/), except test/helpers/ (every reusable helper), test/architecture/
 * (these rules) and test/readme/ (the README's own blocks); and files that are not tests live
 * only in test/helpers/ (and test/readme/).
 */
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/git.js';

const TEST = join(REPO_ROOT, 'test');
const OWN = new Set(['helpers', 'architecture', 'readme']);

function walk(dir: string): { dirs: string[]; files: string[] } {
  const out = { dirs: [] as string[], files: [] as string[] };
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      out.dirs.push(path);
      const sub = walk(path);
      out.dirs.push(...sub.dirs);
      out.files.push(...sub.files);
    } else out.files.push(path);
  }
  return out;
}

const { dirs, files } = walk(TEST);
const rel = (p: string): string => relative(TEST, p);
const own = (p: string): boolean => OWN.has(rel(p).split('/')[0]!);

describe('test/ mirrors the tree', () => {
  it('sees the test tree', () => {
    expect(dirs.map(rel)).toContain('controller/targets');
  });

  it('every test folder is a source folder', () => {
    expect(dirs.filter((d) => !own(d)).map(rel).filter((d) => !statSync(join(REPO_ROOT, d), { throwIfNoEntry: false })?.isDirectory())).toEqual([]);
  });

  it('files that are not tests live in test/helpers/', () => {
    expect(files.filter((f) => !own(f) && !f.endsWith('.test.ts')).map(rel)).toEqual([]);
  });
});
