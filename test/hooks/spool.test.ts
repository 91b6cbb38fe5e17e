import { afterAll, describe, it, expect } from 'vitest';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { listOperations, newOpId, opCreatedAt, removeOperations, spoolOperation } from '../../hooks/spool.js';
import type { Operation } from '../../hooks/operations.js';
import { cleanupTmp, tmpDir } from '../helpers/tmp.js';

afterAll(cleanupTmp);

function op(id: string): Operation {
  return { v: 1, id, op: 'ban', cidr: '203.0.113.7', at: '2026-11-25T10:00:00Z', by: 'web1', host: 'web1', ttl: 60 };
}

describe('spool', () => {
  it('ids sort by creation time and carry it', () => {
    const a = newOpId('web1', 1_000);
    const b = newOpId('web1', 2_000);
    expect([b, a].sort()).toEqual([a, b]);
    expect(opCreatedAt(b)).toBe(2_000);
  });

  it('writes operations atomically and lists them oldest first', () => {
    const dir = join(tmpDir('f2g-spool'), 'spool');
    const ids = [newOpId('web1', 3_000), newOpId('web1', 1_000), newOpId('web1', 2_000)];
    for (const id of ids) spoolOperation(dir, op(id));
    expect(listOperations(dir).map((o) => o.id)).toEqual([...ids].sort());
    expect(readdirSync(dir).some((n) => n.startsWith('.tmp-'))).toBe(false);
  });

  it('removes delivered operations, ignoring ones already gone', () => {
    const dir = tmpDir('f2g-spool');
    const id = newOpId('web1');
    spoolOperation(dir, op(id));
    removeOperations(dir, [id, 'missing']);
    expect(listOperations(dir)).toEqual([]);
  });

  it('sets aside files that are not operations instead of failing or deleting them', () => {
    const dir = tmpDir('f2g-spool');
    const bad = `${newOpId('web1')}.json`;
    writeFileSync(join(dir, bad), '{not json');
    spoolOperation(dir, op(newOpId('web1')));
    expect(listOperations(dir)).toHaveLength(1);
    expect(existsSync(join(dir, 'bad', bad))).toBe(true);
  });

  it('a missing spool is empty', () => {
    expect(listOperations(join(tmpDir('f2g-spool'), 'nope'))).toEqual([]);
  });
});
