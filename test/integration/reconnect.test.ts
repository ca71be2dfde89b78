/**
 * Reconnecting to a broker that is away: jittered exponential backoff through MQTT.js's public API, one log line per
 * failed attempt, and a connection as soon as the broker is back (real mosquitto on the port that was dead).
 */
import { Writable } from 'node:stream';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, startMosquitto, type LocalServer } from '../../deploy/local-servers.js';
import { superviseConnection } from '../../lib/broker.js';
import { eventually, sleep, tempDir } from '../helpers/env.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { lines, log: pino({ level: 'debug' }, stream) };
}

describe('reconnecting to a broker that is away', () => {
  it('backs off exponentially, logs one line per failed attempt, and connects once the broker is back', async () => {
    const port = await freePort();
    const { lines, log } = capture();
    const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 2000, clientId: 'reconnect-test' });
    const supervisor = superviseConnection(client, { min_ms: 200, max_ms: 1600, log });
    cleanups.push(() => {
      supervisor.stop();
      return client.endAsync(true);
    });
    await eventually('five failed attempts', () => supervisor.failures >= 5, 20_000);
    const warnings = lines.filter((l) => l.level === 40);
    // One line per attempt, each naming the error that caused it and the wait before the next.
    expect(warnings.map((w) => w.attempt)).toEqual(Array.from({ length: warnings.length }, (_, i) => i + 1));
    expect(warnings.every((w) => w.msg === 'broker unreachable; retrying' && (w.err as { code?: string }).code === 'ECONNREFUSED')).toBe(true);
    const waits = warnings.map((w) => w.retry_in_ms as number);
    // Each wait lies in the upper half of its exponential step: 200, 400, 800, 1600, 1600 ms.
    waits.forEach((ms, i) => {
      const step = Math.min(1600, 200 * 2 ** i);
      expect(ms).toBeGreaterThanOrEqual(step / 2);
      expect(ms).toBeLessThanOrEqual(step);
    });
    expect(lines.filter((l) => (l.level as number) >= 40 && l.msg === 'broker error')).toEqual([]);

    const broker: LocalServer = await startMosquitto({ dir: tempDir('lw-reconnect-'), port });
    cleanups.push(() => broker.stop());
    await eventually('connected once the broker is back', () => client.connected, 5000);
    expect(supervisor.failures).toBe(0);

    // A lost connection is one line too, and the client comes back by itself.
    const before = lines.length;
    await broker.stop();
    await sleep(1000);
    const after = lines.slice(before).filter((l) => l.level === 40);
    expect(after[0]?.msg).toBe('broker connection lost; reconnecting');
    expect(after.slice(1).every((l) => l.msg === 'broker unreachable; retrying')).toBe(true);
    expect(after.length).toBe(supervisor.failures);
    await broker.start();
    await eventually('reconnected after the broker restarted', () => client.connected, 10_000);
  });
});
