/** Our TypeScript sources (bin/, controller/, hooks/; not the generated validators), read once, for the architecture tests. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { REPO_ROOT } from './git.js';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'generated' ? [] : sources(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

export interface SourceFile {
  /** path relative to the repository root */
  file: string;
  text: string;
}

export function sourceFiles(): SourceFile[] {
  return ['bin', 'controller', 'hooks'].flatMap((d) => sources(join(REPO_ROOT, d))).map((path) => ({
    file: relative(REPO_ROOT, path),
    text: readFileSync(path, 'utf8'),
  }));
}
