/**
 * The forge's push webhook (`POST /v1/hooks/push`): proof that the sender knows the shared
 * secret, nothing more. The payload is never read for anything; a valid hook only makes the
 * mirror poll the remote now. GitHub and Gitea sign the body (`X-Hub-Signature-256:
 * sha256=<HMAC-SHA256 hex>`); GitLab sends the secret itself (`X-Gitlab-Token`). Both are
 * compared in constant time. The secret is read once, remembered for redaction, never logged.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readKeyFile } from '../lib/key-file.js';
import { rememberSecret } from '../lib/redact.js';
import { sha256 } from '../serve/keys.js';

/** A webhook body larger than this is refused unread (GitHub caps payloads at 25 MB; pushes are small). */
export const MAX_WEBHOOK_BODY = 1 << 20;

export function loadWebhookSecret(path: string): string {
  const text = readKeyFile(path, 'E_MIRROR_SECRET', { setting: 'serve.mirror.webhookSecretFile', secret: 'the webhook secret' });
  rememberSecret(text);
  return text;
}

export type WebhookVerdict = 'ok' | 'missing' | 'bad';

const sameSecret = (a: string, b: string): boolean => timingSafeEqual(sha256(a), sha256(b));

/** Checks a webhook's proof of the secret. Pure. */
export function verifyWebhook(headers: Record<string, string | string[] | undefined>, body: Buffer, secret: string): WebhookVerdict {
  const one = (name: string): string | undefined => {
    const v = headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const signature = one('x-hub-signature-256');
  if (signature !== undefined) {
    const m = /^sha256=([0-9a-fA-F]{64})$/.exec(signature.trim());
    if (!m) return 'bad';
    const expected = createHmac('sha256', secret).update(body).digest();
    return timingSafeEqual(expected, Buffer.from(m[1]!, 'hex')) ? 'ok' : 'bad';
  }
  const token = one('x-gitlab-token');
  if (token !== undefined) return token.length <= 1024 && sameSecret(token, secret) ? 'ok' : 'bad';
  return 'missing';
}

/** The signature GitHub/Gitea send for `body` (for tests and the docs' curl example). */
export function hubSignature(secret: string, body: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}
