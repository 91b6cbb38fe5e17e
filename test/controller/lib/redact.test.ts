import { afterEach, describe, expect, it } from 'vitest';
import { forgetSecrets, redact, redactDeep, rememberSecret, rememberUrlCredentials } from '../../../controller/lib/redact.js';
import { errorMessage } from '../../../controller/lib/errors.js';
import { createJsonLogger } from '../../../controller/lib/log.js';

afterEach(forgetSecrets);

describe('redact: the secret values the host knows', () => {
  it('a remembered value is removed wherever it appears, not only behind PVEAPIToken=', () => {
    const secret = '0b6f1c9e-2d4a-4c1e-9a7b-3f5e8d2c1a90';
    expect(redact(`token ${secret} rejected`)).toContain(secret);
    rememberSecret(secret);
    expect(redact(`token ${secret} rejected; again:${secret}`)).toBe('token *** rejected; again:***');
    expect(errorMessage(new Error(`401 ${secret}`))).toBe('401 ***');
  });

  it('also in the forms it takes inside JSON and URLs', () => {
    const secret = 'p@ss"w/o\\rd';
    rememberSecret(secret);
    expect(redact(JSON.stringify({ m: `x ${secret} y` }))).toBe('{"m":"x *** y"}');
    expect(redact(`https://h/?a=${encodeURIComponent(secret)}`)).not.toContain(encodeURIComponent(secret));
  });

  it('the password of a remote URL, and a lone token user of an https URL; not ssh\'s "git"', () => {
    rememberUrlCredentials('https://deploy:hunter2-pw@git.example.org/ledger.git');
    rememberUrlCredentials('https://ghp_abcdef123456@github.com/o/r.git');
    rememberUrlCredentials('ssh://git@git.example.org/ledger.git');
    expect(redact('auth failed: hunter2-pw; ghp_abcdef123456; git pull')).toBe('auth failed: ***; ***; git pull');
  });

  it('the JSON logger and redactDeep apply it; structure stays intact', () => {
    rememberSecret('s3cr3t-value');
    const lines: string[] = [];
    createJsonLogger({ sink: { write: (l: string) => lines.push(l) } }).error('x', { error: 'got s3cr3t-value back', n: 1 });
    expect(JSON.parse(lines[0]!)).toMatchObject({ error: 'got *** back', n: 1 });
    expect(redactDeep({ a: ['s3cr3t-value'], b: { c: 'ok s3cr3t-value' }, d: 2 })).toEqual({ a: ['***'], b: { c: 'ok ***' }, d: 2 });
  });

  it('very short values are not looked for (they would match everywhere)', () => {
    rememberSecret('ab');
    expect(redact('table abba')).toBe('table abba');
  });
});
