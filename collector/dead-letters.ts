import { appendFileSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** What was refused, why, and enough of it to look at later. */
export interface DeadLetter {
  reason: string;
  topic?: string;
  station?: string;
  seq?: number;
  detail?: string;
  /** The payload as received (truncated) or the report that InfluxDB refused. */
  payload?: unknown;
}

/**
 * Rejections kept for inspection in `rejected.jsonl`, one JSON object a line, rotated to `rejected.1.jsonl` at
 * `maxBytes / 2` so the pair stays within the bound. Counters per reason live in memory and in the logs.
 */
export class DeadLetters {
  private readonly file: string;
  private size = 0;
  readonly counts = new Map<string, number>();

  constructor(private readonly dir: string, private readonly maxBytes: number, private readonly now: () => number = Date.now) {
    mkdirSync(dir, { recursive: true });
    this.file = join(dir, 'rejected.jsonl');
    try {
      this.size = statSync(this.file).size;
    } catch {
      this.size = 0;
    }
  }

  get path(): string {
    return this.file;
  }

  total(): number {
    let n = 0;
    for (const v of this.counts.values()) n += v;
    return n;
  }

  keep(letter: DeadLetter): void {
    this.counts.set(letter.reason, (this.counts.get(letter.reason) ?? 0) + 1);
    const line = `${JSON.stringify({ at: this.now(), ...letter })}\n`;
    if (this.size > 0 && this.size + line.length > this.maxBytes / 2) {
      renameSync(this.file, join(this.dir, 'rejected.1.jsonl'));
      this.size = 0;
    }
    appendFileSync(this.file, line);
    this.size += Buffer.byteLength(line);
  }
}
