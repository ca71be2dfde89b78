/**
 * V8 heap settings of `linkwatch collector --bounded-heap`. A module of its own, with nothing to import, so that
 * `bin/linkwatch.js` applies them before it loads the CLI: importing the CLI and the collector grew the semi-spaces
 * from 1 to 8 MB each before the collector's first line ran, and a busy process never gives them back.
 *
 * An operator's choice, off by default: through the 40,000-report flood it halved the peak RSS (149 against 338 MB)
 * and cost 72 % more CPU per report, which on a shared box slowed the drain (docs/performance.md, "Bounded memory
 * under a flood"). A collector on a server with memory to spare drains faster without it; one on a small VM beside
 * InfluxDB may want it.
 */
import { setFlagsFromString } from 'node:v8';

/** How far V8 may let the collector's old generation grow past what its last full GC kept alive, in percent. */
export const HEAP_GROWING_PERCENT = 20;

/**
 * Bounds the collector process's heap to what it keeps alive. Under a flood the collector keeps little (flow control
 * holds the backlog in the broker: at most 4 batches of points wait), but V8 sizes its heap for throughput: it let
 * the old generation fill to 3–4× the live heap with promoted garbage (120–219 MB over 29–50 MB live) and the
 * semi-spaces double to 16 MB each, so the process took 307–345 MB. `--heap-growing-percent` fixes the factor V8
 * recomputes after each mark-compact (old-space limit = live × (1 + p/100), at least live + V8's minimum step);
 * `--semi-space-growth-factor=1` keeps the young generation at its starting size. Both are read when V8 uses them,
 * so they take effect although set after start (`--max-semi-space-size` would not; and given on node's command line,
 * `--semi-space-growth-factor` had no effect on Node 20). The price is more, shorter collections: docs/performance.md,
 * "Issue 13". Call once, first thing, from the collector's own process only, and only when asked.
 */
export function boundCollectorHeap(): void {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  setFlagsFromString('--semi-space-growth-factor=1');
}
