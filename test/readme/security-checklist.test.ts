/**
 * SECURITY.md's hardening checklist says what `fail2git doctor` says: every mode the checklist
 * calls fine passes doctor's own judgement of that file, and every mode it calls wrong fails.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { judgeMode } from '../../controller/doctor/checks.js';
import { fileMode } from '../../controller/doctor/probes.js';
import { REPO_ROOT } from '../helpers/git.js';
import { cleanupTmp, tmpDir } from '../helpers/tmp.js';

afterAll(cleanupTmp);

const checklist = readFileSync(join(REPO_ROOT, 'SECURITY.md'), 'utf8').split('## Hardening checklist')[1] ?? '';

function verdict(kind: 'private' | 'secret' | 'trust', mode: number): string {
  const path = join(tmpDir('f2g-modes'), 'f');
  writeFileSync(path, 'x\n');
  chmodSync(path, mode);
  return judgeMode('f', path, kind, fileMode(path)).status;
}

describe('the hardening checklist matches doctor', () => {
  const cases: { what: RegExp; kind: 'private' | 'secret' | 'trust'; fine: number[]; wrong: number[] }[] = [
    { what: /`config\.yaml` mode 0600 or 0640 \(never readable by everyone: `doctor` fails\s+0644/, kind: 'secret', fine: [0o600, 0o640], wrong: [0o644] },
    { what: /`allowed_signers` and `adminSigners` mode 0644 or stricter \(never writable by group or\s+others/, kind: 'trust', fine: [0o644, 0o600], wrong: [0o664, 0o646] },
    { what: /signing keys and Proxmox token\s+files mode 0600/, kind: 'private', fine: [0o600], wrong: [0o640, 0o644] },
  ];
  for (const c of cases) {
    it(`${c.kind}: the checklist says ${c.what.source.slice(0, 40)}…, and doctor agrees`, () => {
      expect(checklist).toMatch(c.what);
      for (const m of c.fine) expect({ mode: m.toString(8), status: verdict(c.kind, m) }).toEqual({ mode: m.toString(8), status: 'ok' });
      for (const m of c.wrong) expect({ mode: m.toString(8), status: verdict(c.kind, m) }).toEqual({ mode: m.toString(8), status: 'fail' });
    });
  }
});
