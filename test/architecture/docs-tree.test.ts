/** docs/architecture.md is the map of the tree: one line for every folder of controller/, none for a folder that is gone. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/git.js';

const doc = readFileSync(join(REPO_ROOT, 'docs', 'architecture.md'), 'utf8');
const folders = readdirSync(join(REPO_ROOT, 'controller')).filter((n) => statSync(join(REPO_ROOT, 'controller', n)).isDirectory());

describe('docs/architecture.md matches the tree', () => {
  it('has a line for every folder of controller/', () => {
    expect(folders.length).toBeGreaterThan(10);
    expect(folders.filter((f) => !doc.includes(`| \`controller/${f}/\` |`))).toEqual([]);
  });

  it('names no controller/ folder that does not exist', () => {
    const named = [...doc.matchAll(/\| `controller\/([a-z-]+)\/` \|/g)].map((m) => m[1]!);
    expect(named.filter((f) => !folders.includes(f))).toEqual([]);
  });
});
