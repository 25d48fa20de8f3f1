/**
 * One `info` line per refused or dropped INVITE (status, reason, trunk,
 * Call-ID, source), so an operator sees why a call failed without a packet
 * capture. Under a flood the lines are capped per second: the rest are
 * counted and summarised in one line per second, by outcome, so logging can
 * never become the bottleneck.
 */
import type { Logger } from 'pino';

export interface Refusal {
  /** ms since the epoch. */
  time: number;
  /** 0 for a dropped INVITE (no response). */
  status: number;
  reason: string;
  /** The metric's outcome label (cps_limited, forbidden, …), or `dropped`. */
  outcome: string;
  trunk: string | undefined;
  region: string | undefined;
  callId: string;
  /** `address:port` it came from. */
  source: string;
  alert: number | undefined;
}

export class RefusalLog {
  private windowSecond = -1;
  private linesThisSecond = 0;
  private suppressed = new Map<string, number>();
  private suppressedSince = 0;
  private flushTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly log: Logger,
    /** Lines per second before the rest are summarised; 0 logs only summaries. */
    private maxLinesPerSecond: number,
    private readonly now: () => number,
  ) {}

  setRate(maxLinesPerSecond: number): void {
    this.maxLinesPerSecond = maxLinesPerSecond;
  }

  refused(r: Refusal): void {
    if (!this.log.isLevelEnabled('info')) return;
    const second = Math.floor(this.now() / 1000);
    if (second !== this.windowSecond) {
      this.flush();
      this.windowSecond = second;
      this.linesThisSecond = 0;
    }
    if (this.linesThisSecond < this.maxLinesPerSecond) {
      this.linesThisSecond++;
      const fields = { status: r.status, reason: r.reason, outcome: r.outcome, trunk: r.trunk, region: r.region, callId: r.callId, source: r.source, alert: r.alert };
      if (r.status === 0) this.log.info(fields, `dropped INVITE from ${r.source}: ${r.reason} (no response)`);
      else this.log.info(fields, `refused INVITE from ${r.source}: ${r.status} ${r.reason}${r.trunk === undefined ? '' : ` (trunk ${r.trunk})`}`);
      return;
    }
    if (this.suppressed.size === 0) {
      this.suppressedSince = this.now();
      // a flood that stops still gets its summary
      this.flushTimer = setTimeout(() => this.flush(), 1000);
      this.flushTimer.unref();
    }
    this.suppressed.set(r.outcome, (this.suppressed.get(r.outcome) ?? 0) + 1);
  }

  /** Write the summary of what was not logged, if anything. */
  flush(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.suppressed.size === 0) return;
    let total = 0;
    for (const n of this.suppressed.values()) total += n;
    const byOutcome = Object.fromEntries(this.suppressed);
    this.suppressed = new Map();
    const seconds = Math.max(0, (this.now() - this.suppressedSince) / 1000);
    this.log.info(
      { suppressed: total, byOutcome, seconds },
      `${total} more refused INVITEs not logged one by one (over ${this.maxLinesPerSecond}/s): ${Object.entries(byOutcome)
        .map(([o, n]) => `${o} ${n}`)
        .join(', ')}`,
    );
  }

  stop(): void {
    this.flush();
  }
}
