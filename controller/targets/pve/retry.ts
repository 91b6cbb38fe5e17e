/**
 * Retry with jittered exponential backoff for calls whose failure says "try again":
 * network errors, 5xx, cluster-lock timeouts. Anything else fails at once.
 */
export interface RetryOptions {
  /** attempts after the first */
  retries: number;
  /** first pause; doubles each time, ±50 % jitter */
  baseMs: number;
  retryable: (err: unknown) => boolean;
}

export async function withRetry<T>(fn: () => Promise<T>, opts: RetryOptions): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= opts.retries || !opts.retryable(err)) throw err;
      const pause = opts.baseMs * 2 ** attempt * (0.5 + Math.random());
      await new Promise((r) => setTimeout(r, pause));
    }
  }
}
