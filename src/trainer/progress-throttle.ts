// train/progress is for eyes, not for records (metrics.jsonl has every row): at most one row
// per interval per run, always the newest, and the run's last row is never dropped.

export class ProgressThrottle<Row> {
  private lastSentAt = -Infinity;
  private pending: Row | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly intervalMs: number,
    private readonly send: (row: Row) => void,
  ) {}

  /** Sends now if the interval has passed, else keeps the row (replacing an older one) for later. */
  push(row: Row): void {
    const wait = this.lastSentAt + this.intervalMs - Date.now();
    if (wait <= 0 && !this.timer) {
      this.emit(row);
      return;
    }
    this.pending = row;
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.emitPending();
    }, Math.max(0, wait));
  }

  /** Sends the kept row (waiting out the interval, so the rate holds) before the run's final message. */
  async flush(): Promise<void> {
    if (this.pending === undefined) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const wait = this.lastSentAt + this.intervalMs - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    this.emitPending();
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = undefined;
  }

  private emitPending(): void {
    const row = this.pending;
    this.pending = undefined;
    if (row !== undefined) this.emit(row);
  }

  private emit(row: Row): void {
    this.lastSentAt = Date.now();
    this.send(row);
  }
}
