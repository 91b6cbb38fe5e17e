/**
 * Work the watch loop starts but never waits for: fetching the ledger, publishing the fleet
 * record, gc, pushing the local spool. Each is network-bound, and a remote that accepts
 * connections and never answers must not hold back an expiry (docs/reconcile.md). One
 * instance runs at most one job at a time; a start while one runs is skipped (the next tick
 * asks again). Every job is bounded by its own git timeouts.
 */
export class SingleFlight {
  private running: Promise<void> | undefined;
  private startedMs: number | undefined;

  constructor(private readonly onError: (err: unknown) => void = () => undefined) {}

  get busy(): boolean {
    return this.running !== undefined;
  }

  /** When the running job started (ms since the epoch); undefined when idle. */
  get startedAt(): number | undefined {
    return this.startedMs;
  }

  /** Starts `job` unless one runs; true when it started. Never throws, never waits. */
  start(job: () => Promise<unknown>): boolean {
    if (this.running) return false;
    this.startedMs = Date.now();
    this.running = Promise.resolve()
      .then(job)
      .then(
        () => undefined,
        (err: unknown) => this.onError(err),
      )
      .finally(() => {
        this.running = undefined;
        this.startedMs = undefined;
      });
    return true;
  }

  /** Waits for the running job, at most `ms`; true when idle afterwards. */
  async settle(ms: number): Promise<boolean> {
    if (!this.running) return true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.running, new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
    clearTimeout(timer);
    return !this.running;
  }
}
