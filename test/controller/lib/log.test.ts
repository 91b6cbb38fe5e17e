import { describe, it, expect } from 'vitest';
import { createJsonLogger, createMemoryLogger, createRepeatSuppressingLogger } from '../../../controller/lib/log.js';

describe('createJsonLogger', () => {
  it('writes one JSON object per line with ts, level, event, base and fields; secrets redacted', () => {
    const lines: string[] = [];
    const log = createJsonLogger({ sink: { write: (l: string) => lines.push(l) }, base: { host: 'web1' }, now: () => new Date('2026-11-25T10:00:00Z') });
    log.info('fetch', { tip: 'abc', remote: 'https://bob:hunter2@git.example.org/ledger.git' });
    log.error('target.failed', { error: new Error('boom\nsecond line') });
    expect(lines.every((l) => l.endsWith('\n') && !l.slice(0, -1).includes('\n'))).toBe(true);
    expect(JSON.parse(lines[0]!)).toEqual({ ts: '2026-11-25T10:00:00.000Z', level: 'info', event: 'fetch', host: 'web1', tip: 'abc', remote: 'https://***@git.example.org/ledger.git' });
    expect(JSON.parse(lines[1]!)).toMatchObject({ level: 'error', error: { message: 'boom' } });
  });
  it('quiet drops info but keeps warnings and errors', () => {
    const lines: string[] = [];
    const log = createJsonLogger({ sink: { write: (l: string) => lines.push(l) }, quiet: true });
    log.info('a');
    log.warn('b');
    log.error('c');
    expect(lines.map((l) => (JSON.parse(l) as { event: string }).event)).toEqual(['b', 'c']);
  });
});

describe('createRepeatSuppressingLogger', () => {
  it('drops an identical warning within the window, lets different ones and info through', () => {
    const inner = createMemoryLogger();
    let t = 0;
    const log = createRepeatSuppressingLogger(inner, 1000, () => t);
    log.warn('fetch.failed', { error: 'down' });
    log.warn('fetch.failed', { error: 'down' });
    log.warn('fetch.failed', { error: 'refused' });
    log.info('run', { ok: true });
    log.info('run', { ok: true });
    t = 999;
    log.warn('fetch.failed', { error: 'down' });
    t = 1000;
    log.warn('fetch.failed', { error: 'down' });
    expect(inner.lines.map((l) => `${l.event}:${String(l.fields.error ?? l.fields.ok)}`)).toEqual([
      'fetch.failed:down', 'fetch.failed:refused', 'run:true', 'run:true', 'fetch.failed:down',
    ]);
  });
});
