/** The webhook's proof of the secret: GitHub/Gitea HMAC signatures and GitLab tokens. Pure. */
import { afterAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hubSignature, loadWebhookSecret, verifyWebhook } from '../../../controller/mirror/webhook.js';
import { redact } from '../../../controller/lib/redact.js';
import { cleanupTmp, tmpDir } from '../../helpers/tmp.js';

afterAll(cleanupTmp);

const SECRET = 'webhook-secret-0123456789abcdef';
const body = Buffer.from('{"ref":"refs/heads/main"}');

describe('verifyWebhook', () => {
  it('accepts the HMAC-SHA256 of the exact body under the secret (GitHub, Gitea), either case of hex', () => {
    expect(verifyWebhook({ 'x-hub-signature-256': hubSignature(SECRET, body) }, body, SECRET)).toBe('ok');
    expect(verifyWebhook({ 'x-hub-signature-256': hubSignature(SECRET, body).toUpperCase().replace('SHA256=', 'sha256=') }, body, SECRET)).toBe('ok');
  });

  it('refuses a signature over another body, under another secret, or malformed', () => {
    expect(verifyWebhook({ 'x-hub-signature-256': hubSignature(SECRET, 'other') }, body, SECRET)).toBe('bad');
    expect(verifyWebhook({ 'x-hub-signature-256': hubSignature('another-secret-01234567', body) }, body, SECRET)).toBe('bad');
    expect(verifyWebhook({ 'x-hub-signature-256': 'sha1=abc' }, body, SECRET)).toBe('bad');
    expect(verifyWebhook({ 'x-hub-signature-256': 'sha256=' + '0'.repeat(63) }, body, SECRET)).toBe('bad');
  });

  it('accepts GitLab\'s token only when it is the secret', () => {
    expect(verifyWebhook({ 'x-gitlab-token': SECRET }, body, SECRET)).toBe('ok');
    expect(verifyWebhook({ 'x-gitlab-token': SECRET.slice(1) }, body, SECRET)).toBe('bad');
    expect(verifyWebhook({ 'x-gitlab-token': 'x'.repeat(5000) }, body, SECRET)).toBe('bad');
  });

  it('says "missing" without either header', () => {
    expect(verifyWebhook({}, body, SECRET)).toBe('missing');
  });

  it('reads the secret file once, refuses a short one in one line, and redacts the secret afterwards', () => {
    const dir = tmpDir('f2g-webhook');
    writeFileSync(join(dir, 'short'), 'abc\n');
    expect(() => loadWebhookSecret(join(dir, 'short'))).toThrow(expect.objectContaining({ code: 'E_MIRROR_SECRET' }));
    expect(() => loadWebhookSecret(join(dir, 'absent'))).toThrow(/cannot read serve\.mirror\.webhookSecretFile \(ENOENT\)/);
    writeFileSync(join(dir, 'ok'), SECRET + '\n');
    expect(loadWebhookSecret(join(dir, 'ok'))).toBe(SECRET);
    expect(redact(`token ${SECRET} echoed`)).not.toContain(SECRET);
  });
});
