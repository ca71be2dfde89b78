/**
 * The agent's broker connection as a watched session, fed by the uplink's `connect` and `drop` events (no polling):
 * the real Uplink and outbox, real mosquitto behind a loopback proxy that cuts the connection.
 */
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentConfigSchema } from '../../agent/config.js';
import { openOutbox } from '../../agent/outbox-open.js';
import { MqttSession, type SessionEventOut } from '../../agent/sessions.js';
import { Uplink } from '../../agent/uplink.js';
import { startCountingProxy, type CountingProxy } from '../../bench/common.js';
import { startMosquitto, type LocalServer } from '../../deploy/local-servers.js';
import { silentLogger } from '../../lib/log.js';
import { eventually, tempDir } from '../helpers/env.js';

describe('the broker connection as a session, from uplink events', () => {
  let dir: string;
  let broker: LocalServer;
  let proxy: CountingProxy;

  beforeAll(async () => {
    dir = tempDir();
    broker = await startMosquitto({ dir: join(dir, 'mq'), persistence: false });
    proxy = await startCountingProxy(broker.port);
  });
  afterAll(async () => {
    await proxy?.close();
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is up at the instant the uplink connects, counts a cut as one drop, and is up again on reconnect', async () => {
    const cfg = agentConfigSchema.parse({
      station: 'bk-ngan-son-bang-van', interval: '10s', broker: { url: `mqtt://127.0.0.1:${proxy.port}` }, outbox: { path: join(dir, 'outbox') },
      targets: [{ name: 'gw', role: 'gateway', kind: 'tcp', host: '127.0.0.1', port: 1 }],
    });
    const outbox = openOutbox({ dir: cfg.outbox.path, maxBytes: cfg.outbox.max_bytes });
    const uplink = new Uplink(cfg, { outbox, log: silentLogger(), now: Date.now });
    const events: SessionEventOut[] = [];
    const session = new MqttSession('mqtt', { now: Date.now, log: silentLogger(), emit: (e) => events.push(e) }, uplink);
    const connects: number[] = [];
    uplink.on('connect', () => connects.push(Date.now()));
    session.start();
    uplink.start();
    try {
      await eventually('connected', () => connects.length === 1);
      expect(session.current).toMatchObject({ phase: 'up' });
      expect(Math.abs(session.current.since - connects[0]!)).toBeLessThanOrEqual(1);

      proxy.setOnline(false);
      await eventually('drop seen', () => session.current.phase === 'down');
      expect(events).toEqual([expect.objectContaining({ type: 'mqtt_drop', name: 'mqtt', detail: 'close' })]);
      proxy.setOnline(true);
      await eventually('reconnected', () => connects.length === 2, 15_000);
      expect(session.current.phase).toBe('up');
      expect(Math.abs(session.current.since - connects[1]!)).toBeLessThanOrEqual(1);
      const sample = session.sample();
      expect(sample).toMatchObject({ name: 'mqtt', up: true, drops: 1 });
      expect(sample.down_ms).toBeGreaterThan(0);
    } finally {
      session.stop();
      await uplink.stop();
      outbox.close();
    }
    // Stopped: it no longer listens.
    expect(uplink.listenerCount('connect')).toBe(1);
    expect(uplink.listenerCount('drop')).toBe(0);
  });
});
