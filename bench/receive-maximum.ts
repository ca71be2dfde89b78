/**
 * Does the broker hold a subscriber to its MQTT 5 Receive Maximum (3.3.4) when a backlog waits for it? A persistent
 * session (Receive Maximum 1,000, as the collector asks) is away while `--messages` QoS 1 messages queue for it; then
 * it comes back through a proxy that reads the MQTT fixed headers both ways. The client takes one message at a time
 * and acknowledges it once handled (MQTT.js `customHandleAcks`, as the collector does) and, like the collector's acks,
 * publishes one QoS 1 message of its own every `--every` messages. Prints the most PUBLISHes the broker had sent and
 * not yet had acknowledged, how many of the PUBACKs for the client's own publishes came while the backlog was still
 * being sent, and the most of the broker's PUBLISHes that came ahead of one of them.
 *
 *   node dist/bench/receive-maximum.js [--messages 20000] [--receive-maximum 1000] [--every 100]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { startMosquitto, type LocalServer } from '../deploy/local-servers.js';
import { arg, machineLine, runBench, waitUntil } from './common.js';

const MESSAGES = arg('messages', 20_000);
const RECEIVE_MAXIMUM = arg('receive-maximum', 1000);
const EVERY = arg('every', 100);
const PUBLISH = 3;
const PUBACK = 4;

const dir = mkdtempSync(join(tmpdir(), 'lw-bench-recvmax-'));
let broker: LocalServer | undefined;
let proxy: Server | undefined;
const sockets = new Set<Socket>();
const clients: MqttClient[] = [];

/** Calls `onPacket` with the type of each MQTT control packet in a byte stream (fixed header only). */
function packetTypes(onPacket: (type: number) => void): (chunk: Buffer) => void {
  let pending = Buffer.alloc(0);
  return (chunk) => {
    let buf = pending.length > 0 ? Buffer.concat([pending, chunk]) : chunk;
    for (;;) {
      let remaining = 0;
      let i = 1;
      for (let mult = 1; i < buf.length && i <= 4; i++, mult *= 128) {
        remaining += (buf[i]! & 0x7f) * mult;
        if ((buf[i]! & 0x80) === 0) break;
      }
      if (i >= buf.length || buf.length < i + 1 + remaining) break;
      onPacket(buf[0]! >> 4);
      buf = buf.subarray(i + 1 + remaining);
    }
    pending = Buffer.from(buf);
  };
}

async function main() {
  console.log(`receive maximum: ${MESSAGES} queued QoS 1 messages, Receive Maximum ${RECEIVE_MAXIMUM}, one publish of the client's own every ${EVERY}`);
  console.log(`machine: ${machineLine()}`);
  broker = await startMosquitto({ dir: join(dir, 'mosquitto'), persistence: false });
  const clientId = 'receive-maximum-bench';
  const session = { clientId, clean: false, protocolVersion: 5 as const, properties: { sessionExpiryInterval: 3600, receiveMaximum: RECEIVE_MAXIMUM } };
  const first = await mqtt.connectAsync(broker.url, session);
  await first.subscribeAsync('bench/flood/#', { qos: 1 });
  await first.endAsync();
  const pub = await mqtt.connectAsync(broker.url, { clientId: `${clientId}-pub`, protocolVersion: 5 });
  clients.push(pub);
  const payload = Buffer.alloc(330, 1);
  for (let i = 0; i < MESSAGES; i += 1000) {
    await Promise.all(Array.from({ length: Math.min(1000, MESSAGES - i) }, (_, k) => pub.publishAsync(`bench/flood/${i + k}`, payload, { qos: 1 })));
  }
  await pub.endAsync();

  // What crosses the wire: PUBLISHes and PUBACKs each way.
  let sent = 0;
  let acked = 0;
  let maxInFlight = 0;
  const ownSentAt: number[] = [];
  const ahead: number[] = [];
  let pubacksDuringBacklog = 0;
  proxy = createServer((down) => {
    const up = connect({ host: '127.0.0.1', port: broker!.port });
    for (const s of [down, up]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    const fromBroker = packetTypes((type) => {
      if (type === PUBLISH) maxInFlight = Math.max(maxInFlight, ++sent - acked);
      if (type === PUBACK && ownSentAt.length > 0) {
        ahead.push(sent - ownSentAt.shift()!);
        if (sent < MESSAGES) pubacksDuringBacklog++;
      }
    });
    const fromClient = packetTypes((type) => {
      if (type === PUBACK) acked++;
      if (type === PUBLISH) ownSentAt.push(sent);
    });
    up.on('data', (d: Buffer) => fromBroker(d));
    down.on('data', (d: Buffer) => fromClient(d));
    up.pipe(down);
    down.pipe(up);
  });
  await new Promise<void>((r) => proxy!.listen(0, '127.0.0.1', () => r()));
  const port = (proxy.address() as { port: number }).port;

  let handled = 0;
  const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, {
    ...session,
    reconnectPeriod: 0,
    customHandleAcks: (_topic, _message, _packet, done) => setImmediate(() => done(0)),
  });
  clients.push(client);
  client.on('message', () => {
    if (++handled % EVERY === 0) client.publish('bench/own', 'ack', { qos: 1 });
  });
  const done = await waitUntil(() => handled >= MESSAGES && ahead.length >= Math.floor(MESSAGES / EVERY), 300_000, 50);
  if (!done) console.log(`  only ${handled} of ${MESSAGES} handled, ${ahead.length} own PUBACKs`);
  console.log(`most PUBLISHes sent and not yet acknowledged: ${maxInFlight} (Receive Maximum ${RECEIVE_MAXIMUM})`);
  console.log(
    `PUBACKs for the client's own ${ahead.length} publishes that came while the backlog was still being sent: ${pubacksDuringBacklog}; ` +
      `the broker's PUBLISHes ahead of one: at most ${Math.max(...ahead)}`,
  );
}

async function cleanup() {
  for (const c of clients) c.end(true);
  for (const s of sockets) s.destroy();
  await new Promise<void>((r) => (proxy ? proxy.close(() => r()) : r()));
  await broker?.stop();
  rmSync(dir, { recursive: true, force: true });
}

runBench(main, cleanup);
