/**
 * Estimates how far this station's clock is from the collector's, from the acks of live reports. A station PC with a
 * wrong clock stamps wrong measurement times, fails TLS and logs its users out; the collector judges it (`clock`).
 *
 * The collector puts its clock `t` into each ack. The ack of a report published at local time `sent` and received at
 * local time `received` was sent somewhere in between, so the offset (local − collector) lies in
 * [sent − t, received − t]. The narrowest such interval seen recently gives the estimate, its midpoint; the error is at
 * most half its width (which includes the collector's batching delay, about a second by default).
 */
export interface ClockSample {
  lo: number;
  hi: number;
  at: number;
}

export class ClockEstimator {
  private samples: ClockSample[] = [];

  constructor(private readonly windowMs = 10 * 60_000, private readonly maxSamples = 64) {}

  /** Adds one ack: local send and receive times of the report, and the collector's time in its ack. */
  add(sent: number, received: number, collectorTime: number): void {
    if (received < sent) return; // the local clock stepped back meanwhile: the sample means nothing
    this.samples.push({ lo: sent - collectorTime, hi: received - collectorTime, at: received });
    if (this.samples.length > this.maxSamples) this.samples.shift();
  }

  /** The offset in ms (positive: this clock is ahead), or undefined without a recent sample. */
  offsetMs(now: number): number | undefined {
    this.samples = this.samples.filter((s) => now - s.at <= this.windowMs && s.at <= now + this.windowMs);
    let best: ClockSample | undefined;
    for (const s of this.samples) if (!best || s.hi - s.lo < best.hi - best.lo) best = s;
    return best ? Math.round((best.lo + best.hi) / 2) : undefined;
  }
}
