/**
 * The embedded broker (aedes) of a single-province install: `broker.url: embedded` in the collector config.
 * Same rules as the production mosquitto: TLS only, no anonymous access, one identity per station (client certificate
 * CN or a mosquitto password file), client id = identity, the one ACL of collector/auth.ts, a packet size limit.
 * aedes speaks MQTT 3.1.1 only, so agents use `protocol_version: 4`, and the collector is an in-process client that no
 * network peer can impersonate.
 */
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import { Duplex } from 'node:stream';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { MqttClient, type IClientOptions } from 'mqtt';
import { z } from 'zod';
import type { Aedes, AuthenticateError, Client } from 'aedes';
import { ConfigError, sizeBytes } from '../lib/config-file.js';
import type { Logger } from '../lib/log.js';
import { STATION_ID } from '../protocol/report.js';
import { isAllowed, parsePasswordFile, verifyPassword, type AclPolicy } from './auth.js';

export const embeddedBrokerSchema = z.strictObject({
  /** `mqtts://host:port` to listen on. TLS only: station credentials never cross the network in clear. */
  listen: z.string().regex(/^mqtts:\/\/[^/]+:\d{1,5}$/, 'expected mqtts://host:port').default('mqtts://0.0.0.0:8883'),
  /** The broker's certificate and key (PEM), e.g. from `linkwatch credentials server <host>`. */
  cert: z.string().min(1),
  key: z.string().min(1),
  /** The station CA (PEM). With `auth: certificate` it alone decides which client certificates are valid. */
  ca: z.string().min(1).optional(),
  /** The station CA's CRL (PEM); re-read when it changes, so a revocation takes effect for new connections. */
  crl: z.string().min(1).optional(),
  /** `certificate`: the client certificate's CN is the station id; `password`: username + password_file. */
  auth: z.enum(['certificate', 'password']).default('certificate'),
  /** A mosquitto password file (`linkwatch credentials passwd`); re-read when it changes. */
  password_file: z.string().min(1).optional(),
  /** A larger MQTT packet disconnects the client, before it is buffered. */
  max_packet_bytes: sizeBytes.prefault('512KB'),
}).superRefine((c, ctx) => {
  if (c.auth === 'certificate' && !c.ca) ctx.addIssue({ code: 'custom', path: ['ca'], message: 'auth: certificate needs the station CA' });
  if (c.auth === 'password' && !c.password_file) ctx.addIssue({ code: 'custom', path: ['password_file'], message: 'auth: password needs a password file' });
});
export type EmbeddedBrokerConfig = z.output<typeof embeddedBrokerSchema>;

export interface EmbeddedBroker {
  /** The port it listens on (useful with port 0). */
  readonly port: number;
  /** A client connected in-process, with collector rights. Options as for mqtt.connect; MQTT 3.1.1. */
  connect(opts: IClientOptions): MqttClient;
  /** Counters of refused connections and packets, by reason. */
  readonly refused: ReadonlyMap<string, number>;
  close(): Promise<void>;
}

// Not a station id (it has a space), so no network client can ever hold it.
const IN_PROCESS = 'collector (in-process)';
const POLICY: AclPolicy = { collectors: new Set([IN_PROCESS]) };

/**
 * Watches the MQTT fixed headers of a byte stream and reports a packet whose declared size exceeds `maxBytes` as
 * soon as its length field arrives, so an oversized packet is refused before it is buffered. Pure state machine.
 */
export function packetSizeGuard(maxBytes: number): (chunk: Buffer) => boolean {
  let state: 'type' | 'length' | 'body' = 'type';
  let length = 0;
  let multiplier = 1;
  let lengthBytes = 0;
  let remaining = 0;
  return (chunk) => {
    let i = 0;
    while (i < chunk.length) {
      if (state === 'type') {
        i++;
        state = 'length';
        length = 0;
        multiplier = 1;
        lengthBytes = 0;
      } else if (state === 'length') {
        const b = chunk[i++]!;
        length += (b & 0x7f) * multiplier;
        multiplier *= 128;
        lengthBytes++;
        if (b & 0x80) {
          if (lengthBytes >= 4) return false; // malformed: at most four length bytes (MQTT-2.2.3)
          continue;
        }
        if (1 + lengthBytes + length > maxBytes) return false;
        remaining = length;
        state = remaining > 0 ? 'body' : 'type';
      } else {
        const take = Math.min(remaining, chunk.length - i);
        i += take;
        remaining -= take;
        if (remaining === 0) state = 'type';
      }
    }
    return true;
  };
}

/** Two connected in-memory streams: what one writes, the other reads. */
function duplexPair(): [Duplex, Duplex] {
  const make = (peer: () => Duplex) =>
    new Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) {
        peer().push(chunk);
        cb();
      },
      final(cb) {
        peer().push(null);
        cb();
      },
      destroy(err, cb) {
        const p = peer();
        if (!p.destroyed) p.destroy();
        cb(err);
      },
    });
  const a: Duplex = make(() => b);
  const b: Duplex = make(() => a);
  return [a, b];
}

function authError(returnCode: 2 | 4 | 5, message: string): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}

/** Starts the embedded broker. Files are read here; a missing one is a ConfigError naming its key. */
export async function startEmbeddedBroker(cfg: EmbeddedBrokerConfig, deps: { log: Logger; configFile: string }): Promise<EmbeddedBroker> {
  const { log } = deps;
  const read = (key: 'cert' | 'key' | 'ca' | 'crl' | 'password_file'): Buffer | undefined => {
    const file = cfg[key];
    if (!file) return undefined;
    try {
      return readFileSync(file);
    } catch (err) {
      throw new ConfigError(deps.configFile, `broker.embedded.${key}`, `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };
  const certificates = cfg.auth === 'certificate';
  const tlsOptions = () => ({
    cert: read('cert'),
    key: read('key'),
    ...(cfg.ca ? { ca: read('ca') } : {}),
    ...(cfg.crl ? { crl: read('crl') } : {}),
    requestCert: certificates,
    rejectUnauthorized: certificates,
    minVersion: 'TLSv1.2' as const,
  });
  let passwords = cfg.password_file ? parsePasswordFile(read('password_file')!.toString('utf8')) : new Map<string, string>();

  const refused = new Map<string, number>();
  const count = (reason: string) => refused.set(reason, (refused.get(reason) ?? 0) + 1);
  const inProcess = new WeakSet<object>();
  const identities = new WeakMap<Client, string>();

  const { Aedes: AedesClass } = await import('aedes');
  const broker: Aedes = await AedesClass.createBroker({
    connectTimeout: 10_000,
    drainTimeout: 10_000,
    maxTopicLevels: 8,
    maxClientsIdLength: 128,
    authenticate(client, username, password, done) {
      if (inProcess.has(client.conn)) {
        identities.set(client, IN_PROCESS);
        return done(null, true);
      }
      let identity: string | undefined;
      if (certificates) {
        const sock = client.conn as TLSSocket;
        const cn = sock.authorized ? sock.getPeerCertificate().subject?.CN : undefined;
        identity = typeof cn === 'string' ? cn : undefined;
      } else if (username !== undefined && verifyPassword(passwords.get(username), password)) {
        identity = username;
      }
      if (!identity) {
        count('bad_credentials');
        log.warn({ clientId: client.id, username }, 'broker refused a connection: bad credentials');
        return done(authError(4, 'bad username or password'), false);
      }
      if (!STATION_ID.test(identity)) {
        count('bad_identity');
        return done(authError(5, 'not authorized'), false);
      }
      // mosquitto's use_username_as_clientid: one session per identity, nobody takes over another station's session.
      if (client.id !== identity) {
        count('client_id_mismatch');
        log.warn({ clientId: client.id, identity }, 'broker refused a connection: client id differs from identity');
        return done(authError(2, 'client id must be the station id'), false);
      }
      identities.set(client, identity);
      done(null, true);
    },
    authorizePublish(client, packet, cb) {
      // null: the broker itself (a will already authorised, $SYS).
      if (!client) return cb(null);
      if (isAllowed(identities.get(client), 'publish', packet.topic, POLICY)) return cb(null);
      count('publish_denied');
      log.warn({ identity: identities.get(client), topic: packet.topic }, 'broker refused a publish; closing the connection');
      cb(new Error('publish not authorized'));
    },
    authorizeSubscribe(client, sub, cb) {
      if (isAllowed(identities.get(client), 'subscribe', sub.topic, POLICY)) return cb(null, sub);
      count('subscribe_denied');
      log.warn({ identity: identities.get(client), topic: sub.topic }, 'broker refused a subscription');
      cb(null, null);
    },
  });
  broker.on('clientError', (client, err) => log.debug({ clientId: client?.id, err }, 'broker client error'));
  broker.on('connectionError', (client, err) => log.debug({ clientId: client?.id, err }, 'broker connection error'));

  const server: Server = createServer(tlsOptions(), (socket) => {
    const guard = packetSizeGuard(cfg.max_packet_bytes);
    // Added before aedes reads the socket, so it sees each chunk first.
    socket.on('data', (chunk: Buffer) => {
      if (!guard(chunk)) {
        count('packet_too_large');
        log.warn({ remote: socket.remoteAddress, max: cfg.max_packet_bytes }, 'broker closed a connection: packet too large');
        socket.destroy();
      }
    });
    broker.handle(socket);
  });
  server.on('tlsClientError', (err, socket) => {
    count('tls');
    log.warn({ remote: socket.remoteAddress, err }, 'broker refused a TLS connection');
  });

  const watched: string[] = [];
  const watch = (file: string | undefined, reload: () => void) => {
    if (!file) return;
    watched.push(file);
    watchFile(file, { interval: 2000, persistent: false }, () => {
      try {
        reload();
        log.info({ file }, 'broker reloaded a credentials file');
      } catch (err) {
        log.error({ file, err }, 'broker could not reload a credentials file; keeps the old one');
      }
    });
  };
  watch(cfg.crl, () => server.setSecureContext(tlsOptions()));
  watch(cfg.ca, () => server.setSecureContext(tlsOptions()));
  watch(cfg.password_file, () => {
    passwords = parsePasswordFile(readFileSync(cfg.password_file!, 'utf8'));
  });

  const url = new URL(cfg.listen.replace(/^mqtts:/, 'https:'));
  const host = url.hostname.replace(/^\[|\]$/g, '');
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(cfg.listen.slice(cfg.listen.lastIndexOf(':') + 1)), host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => log.error({ err }, 'broker listener error'));
  const port = (server.address() as { port: number }).port;
  log.info({ listen: `${host}:${port}`, auth: cfg.auth }, 'embedded broker listening');

  return {
    port,
    refused,
    connect(opts) {
      return new MqttClient(() => {
        const [mine, theirs] = duplexPair();
        inProcess.add(theirs);
        broker.handle(theirs);
        return mine;
      }, { ...opts, protocolVersion: 4 });
    },
    async close() {
      for (const f of watched) unwatchFile(f);
      const closed = new Promise<void>((r) => server.close(() => r()));
      await new Promise<void>((r) => broker.close(() => r()));
      await closed;
    },
  };
}
