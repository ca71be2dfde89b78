import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { IClientOptions, MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmbeddedBroker } from '../../collector/embedded-broker.js';
import type { LocalServer } from '../../deploy/local-servers.js';
import { eventually, sleep, tempDir } from '../helpers/env.js';
import { makePki, startProductionMosquitto, startTestEmbeddedBroker, tryConnect, type AuthMode, type Pki } from '../helpers/security.js';

const topic = (id: string, kind: string) => `linkwatch/v1/${id}/${kind}`;

interface Broker {
  url: string;
  v: 4 | 5;
  collector(): Promise<MqttClient>;
  stop(): Promise<void>;
}

const cases: Array<[string, 'mosquitto' | 'embedded', AuthMode]> = [
  ['mosquitto, client certificates', 'mosquitto', 'certificate'],
  ['mosquitto, passwords', 'mosquitto', 'password'],
  ['embedded broker, client certificates', 'embedded', 'certificate'],
  ['embedded broker, passwords', 'embedded', 'password'],
];

describe.each(cases)('broker security: %s', (_name, kind, auth) => {
  let dir: string;
  let pki: Pki;
  let broker: Broker;
  const open: MqttClient[] = [];

  /** A station's connect options in this auth mode. */
  const as = (name: string, extra: IClientOptions = {}): IClientOptions => ({
    protocolVersion: broker.v,
    clientId: name,
    ...(auth === 'certificate' ? pki.tls(name) : { ...pki.tls(undefined), username: name, password: pki.passwords[name] }),
    ...extra,
  });
  const connect = async (opts: IClientOptions) => {
    const r = await tryConnect(broker.url, opts);
    if (r.client) open.push(r.client);
    return r;
  };
  const station = async (name: string, extra: IClientOptions = {}) => {
    const r = await connect(as(name, extra));
    if (!r.client) throw new Error(`${name} could not connect: ${r.error?.message}`);
    return r.client;
  };

  beforeAll(async () => {
    dir = tempDir('lw-sec-');
    pki = makePki(join(dir, 'pki'));
    if (kind === 'mosquitto') {
      const m: LocalServer = await startProductionMosquitto(pki, join(dir, 'mosquitto'), auth);
      broker = {
        url: `mqtts://127.0.0.1:${m.port}`,
        v: 5,
        collector: async () => {
          const opts: IClientOptions = auth === 'certificate'
            ? { ...pki.tls('collector'), clientId: 'collector', protocolVersion: 5 }
            : { ...pki.tls(undefined), username: 'collector', password: pki.passwords.collector, clientId: 'collector', protocolVersion: 5 };
          const r = await connect(opts);
          if (!r.client) throw new Error(`collector could not connect: ${r.error?.message}`);
          return r.client;
        },
        stop: () => m.stop(),
      };
    } else {
      const e: EmbeddedBroker = await startTestEmbeddedBroker(pki, auth);
      broker = {
        url: `mqtts://127.0.0.1:${e.port}`,
        v: 4,
        collector: async () => {
          const c = e.connect({ clientId: 'collector-in-process', reconnectPeriod: 0 });
          open.push(c);
          await new Promise<void>((res, rej) => {
            c.once('connect', () => res());
            c.once('error', rej);
          });
          return c;
        },
        stop: () => e.close(),
      };
    }
  });

  afterAll(async () => {
    for (const c of open) c.end(true);
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses anonymous connections', async () => {
    const r = await connect({ protocolVersion: broker.v, clientId: 'st-a', ...pki.tls(undefined) });
    expect(r.client).toBeUndefined();
    expect(r.error).toBeDefined();
  });

  it('refuses plain MQTT without TLS, even with a valid password', async () => {
    const r = await tryConnect(broker.url.replace('mqtts:', 'mqtt:'), { protocolVersion: broker.v, clientId: 'st-a', username: 'st-a', password: pki.passwords['st-a'], connectTimeout: 2000 });
    r.client?.end(true);
    expect(r.client).toBeUndefined();
  });

  it('accepts a station with its own credentials', async () => {
    const c = await station('st-a');
    expect(c.connected).toBe(true);
  });

  if (auth === 'password') {
    it('refuses a wrong password and a password of another station', async () => {
      const wrong = await connect({ ...as('st-a'), password: `${pki.passwords['st-a']}x` });
      expect(wrong.client).toBeUndefined();
      const other = await connect({ ...as('st-a'), password: pki.passwords['st-b'] });
      expect(other.client).toBeUndefined();
    });
  } else {
    it('refuses a revoked certificate', async () => {
      const r = await connect({ protocolVersion: broker.v, clientId: 'st-revoked', ...pki.tls('st-revoked') });
      expect(r.client).toBeUndefined();
      expect(r.error).toBeDefined();
    });

    it('refuses a certificate from another CA, even one with the same name', async () => {
      const r = await connect({ protocolVersion: broker.v, clientId: 'st-a', ...pki.tls('st-a', 'foreign') });
      expect(r.client).toBeUndefined();
      expect(r.error).toBeDefined();
    });

    it('takes the identity from the certificate, not from the username', async () => {
      // st-a's certificate with username st-b: still st-a, so st-b's topics stay closed to it.
      const c = await station('st-a', { username: 'st-b' });
      const col = await broker.collector();
      const got: string[] = [];
      col.on('message', (t, p) => got.push(`${t} ${p.toString()}`));
      await col.subscribeAsync(topic('+', 'report'), { qos: 1 });
      await c.publishAsync(topic('st-b', 'report'), 'forged-by-username', { qos: 1 }).catch(() => {});
      const c2 = await station('st-a', { username: 'st-b' });
      await c2.publishAsync(topic('st-a', 'report'), 'own-by-username', { qos: 1 });
      await eventually('own report delivered', () => got.some((g) => g.includes('own-by-username')));
      expect(got.filter((g) => g.includes('forged'))).toEqual([]);
      col.removeAllListeners('message');
    });
  }

  it('does not let station A publish as station B', async () => {
    const col = await broker.collector();
    const got: string[] = [];
    col.on('message', (t, p) => got.push(`${t} ${p.toString()}`));
    await col.subscribeAsync([topic('+', 'report'), topic('+', 'status'), topic('+', 'event')], { qos: 1 });
    const a = await station('st-a');
    for (const kind of ['report', 'status', 'event']) {
      // mosquitto drops it (MQTT 5: PUBACK 0x87), the embedded broker closes the connection: either way it is not delivered.
      await a.publishAsync(topic('st-b', kind), `forged-${kind}`, { qos: 1 }).catch(() => {});
    }
    await a.publishAsync('linkwatch/v1/st-a/report/extra', 'forged-deeper', { qos: 1 }).catch(() => {});
    const a2 = await station('st-a');
    await a2.publishAsync(topic('st-a', 'report'), 'own-report', { qos: 1 });
    await eventually('own report delivered', () => got.some((g) => g.endsWith('own-report')));
    await sleep(300);
    expect(got.filter((g) => g.includes('forged'))).toEqual([]);
    expect(got).toContain(`${topic('st-a', 'report')} own-report`);
    col.removeAllListeners('message');
  });

  it('does not let station A read station B\'s acks, nor subscribe widely', async () => {
    const a = await station('st-a');
    const got: string[] = [];
    a.on('message', (t, p) => got.push(`${t} ${p.toString()}`));
    // A refused subscription comes back as SUBACK 0x80 (3.1.1) or 0x87 (MQTT 5); mqtt.js rejects on either.
    // mosquitto grants wildcard filters and applies the read ACL to each delivery instead; what counts is below:
    // nothing of B's arrives through any of them.
    const refused: string[] = [];
    for (const t of [topic('st-b', 'ack'), topic('+', 'ack'), 'linkwatch/#', '#', '$share/g/linkwatch/v1/+/ack']) {
      await a.subscribeAsync(t, { qos: 1 }).catch(() => refused.push(t));
    }
    if (kind === 'embedded') expect(refused).toHaveLength(5);
    const grants = await a.subscribeAsync(topic('st-a', 'ack'), { qos: 1 });
    expect(grants[0]?.qos).toBe(1);
    const col = await broker.collector();
    await col.publishAsync(topic('st-b', 'ack'), 'ack-for-b', { qos: 1 });
    await col.publishAsync(topic('st-a', 'ack'), 'ack-for-a', { qos: 1 });
    const b = await station('st-b');
    await b.publishAsync(topic('st-b', 'report'), 'not-for-a', { qos: 1 });
    await eventually('own ack received', () => got.some((g) => g.endsWith('ack-for-a')));
    await sleep(200);
    expect(got.filter((g) => !g.startsWith(topic('st-a', 'ack')))).toEqual([]);
    expect(got.filter((g) => g.includes('ack-for-b'))).toEqual([]);
  });

  it('does not let station A forge acks to itself or others', async () => {
    const b = await station('st-b');
    const got: string[] = [];
    b.on('message', (t, p) => got.push(p.toString()));
    await b.subscribeAsync(topic('st-b', 'ack'), { qos: 1 });
    const a = await station('st-a');
    await a.publishAsync(topic('st-b', 'ack'), 'forged-ack', { qos: 1 }).catch(() => {});
    const col = await broker.collector();
    await col.publishAsync(topic('st-b', 'ack'), 'real-ack', { qos: 1 });
    await eventually('real ack received', () => got.includes('real-ack'));
    expect(got).not.toContain('forged-ack');
  });

  it('does not let station A take over station B\'s session with B\'s client id', async () => {
    const b = await station('st-b');
    let bClosed = false;
    b.on('close', () => (bClosed = true));
    // mosquitto replaces the client id with the username; the embedded broker refuses the connection.
    await connect(as('st-a', { clientId: 'st-b' }));
    await sleep(500);
    expect(bClosed).toBe(false);
    expect(b.connected).toBe(true);
  });

  it('disconnects a client that sends a packet over the size limit and delivers nothing of it', async () => {
    const col = await broker.collector();
    const got: number[] = [];
    col.on('message', (_t, p) => got.push(p.length));
    await col.subscribeAsync(topic('st-a', 'report'), { qos: 1 });
    const a = await station('st-a');
    const closed = new Promise<void>((r) => a.once('close', () => r()));
    a.publish(topic('st-a', 'report'), Buffer.alloc(200_000, 0x41), { qos: 1 });
    await closed;
    const a2 = await station('st-a');
    await a2.publishAsync(topic('st-a', 'report'), 'small', { qos: 1 });
    await eventually('small report delivered', () => got.includes(5));
    expect(got.filter((n) => n > 65_536)).toEqual([]);
  });
});
