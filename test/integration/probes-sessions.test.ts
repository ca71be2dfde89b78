import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/log.js';
import { ConnectionWatcher, sessionSchema, type SessionEventOut } from '../../agent/sessions.js';
import { close, listen, makeCa, makeServerCert, portOf } from '../helpers/probe-targets.js';

const DAY = 86_400_000;

/** Resolves when `cond` holds, polling; fails the test after `ms`. */
async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A server that keeps the sockets it accepted, so the test can drop them at will. */
function holdingServer(make: (onConn: (s: Socket) => void) => Server = (f) => createServer(f)) {
  const conns: Socket[] = [];
  const server = make((s) => {
    conns.push(s);
    s.on('error', () => {});
  });
  return { server, conns, accepted: () => conns.length };
}

describe('session watcher', () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  function watch(cfg: object, events: SessionEventOut[]) {
    const w = new ConnectionWatcher(sessionSchema.parse(cfg) as never, { now: Date.now, log: silentLogger(), emit: (e) => events.push(e) });
    w.start();
    cleanups.push(() => w.stop());
    return w;
  }

  it('counts exactly the drops a server inflicts (reset, close, destroy) and reconnects after each', async () => {
    const { server, conns, accepted } = holdingServer();
    await listen(server);
    cleanups.push(() => close(server));
    const events: SessionEventOut[] = [];
    const w = watch({ name: 's', kind: 'tcp', host: '127.0.0.1', port: portOf(server), retry: '20ms' }, events);
    await until(() => w.current.phase === 'up' && accepted() === 1);
    conns[0]!.resetAndDestroy();
    await until(() => w.current.phase === 'up' && accepted() === 2);
    conns[1]!.end();
    await until(() => w.current.phase === 'up' && accepted() === 3);
    conns[2]!.destroy();
    await until(() => w.current.phase === 'up' && accepted() === 4);
    const sample = w.sample();
    expect(sample).toMatchObject({ name: 's', up: true, drops: 3 });
    expect(events.map((e) => [e.type, e.name, e.detail])).toEqual([
      ['session_drop', 's', 'reset'],
      ['session_drop', 's', 'close'],
      ['session_drop', 's', 'close'],
    ]);
    // the next report starts from zero
    expect(w.sample()).toMatchObject({ up: true, drops: 0, down_ms: 0 });
  });

  it('measures the time to re-establish a session while its server is away', async () => {
    const { server, conns } = holdingServer();
    await listen(server);
    const port = portOf(server);
    const w = watch({ name: 's', kind: 'tcp', host: '127.0.0.1', port, retry: '10ms', retry_max: '20ms' }, []);
    await until(() => w.current.phase === 'up');
    const away = 400;
    const t0 = Date.now();
    await close(server); // destroys the held connection too: one drop
    await new Promise((r) => setTimeout(r, away));
    const back = holdingServer();
    await new Promise<void>((r) => back.server.listen(port, '127.0.0.1', () => r()));
    cleanups.push(() => close(back.server));
    await until(() => w.current.phase === 'up');
    const outage = Date.now() - t0;
    const s = w.sample();
    console.log(`session: server away ${outage} ms, down_ms ${s.down_ms}`);
    expect(s.drops).toBe(1);
    // the watcher notices at most one retry (20 ms) after the server is back
    expect(s.down_ms).toBeGreaterThanOrEqual(away - 5);
    expect(s.down_ms).toBeLessThanOrEqual(outage + 5);
    expect(conns.length).toBe(1);
  });

  it('holds a TLS session, counts its drop, and does not count an untrusted one as up', async () => {
    const now = Date.now();
    const ca = makeCa();
    const dir = mkdtempSync(join(tmpdir(), 'lw-sess-'));
    writeFileSync(join(dir, 'ca.pem'), ca.pem);
    const { server, conns } = holdingServer((f) => createTlsServer(makeServerCert(ca, new Date(now - DAY), new Date(now + DAY)), f));
    await listen(server);
    cleanups.push(() => close(server));
    const events: SessionEventOut[] = [];
    const w = watch({ name: 'dancu-tls', kind: 'tls', host: '127.0.0.1', port: portOf(server), ca: join(dir, 'ca.pem'), retry: '20ms' }, events);
    await until(() => w.current.phase === 'up' && conns.length === 1);
    conns[0]!.destroy();
    await until(() => w.current.phase === 'up' && conns.length === 2);
    expect(w.sample()).toMatchObject({ up: true, drops: 1 });

    const untrusted = watch({ name: 'bad', kind: 'tls', host: '127.0.0.1', port: portOf(server), retry: '20ms' }, events);
    await until(() => untrusted.current.failures >= 2);
    expect(untrusted.sample()).toMatchObject({ up: false, drops: 0 });
    expect(events.filter((e) => e.name === 'bad')).toEqual([]);
  });
});
