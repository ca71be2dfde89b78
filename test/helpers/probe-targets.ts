import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import forge from 'node-forge';

/** In-process probe targets for tests: every server listens on 127.0.0.1 port 0. */

export const portOf = (s: Server): number => (s.address() as AddressInfo).port;

const open = new WeakMap<Server, Set<Socket>>();

/** Listens on 127.0.0.1, port 0, and tracks connections so `close` never waits for a client that lingers. */
export function listen<S extends Server>(server: S): Promise<S> {
  const sockets = new Set<Socket>();
  open.set(server, sockets);
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  server.on('secureConnection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

export function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    for (const s of open.get(server) ?? []) s.destroy();
  });
}

/**
 * A TCP proxy that holds every chunk from the upstream for `delayMs` before passing it on, so a request through it
 * sees its response `delayMs` later. (A user-space proxy cannot delay a TCP handshake: the kernel answers the SYN.)
 * Timers alone fire up to a few ms late on a busy machine, so the last 3 ms are waited out on setImmediate against
 * the high-resolution clock: the delay injected is the delay asked for, to a fraction of a millisecond.
 */
export async function delayingProxy(upstreamPort: number, delayMs: number): Promise<Server> {
  const server = createServer((client: Socket) => {
    const up = connect(upstreamPort, '127.0.0.1');
    client.on('data', (c) => up.write(c));
    const line = delayLine(delayMs, (c) => (c ? client.writable && client.write(c) : client.end()));
    up.on('data', (c: Buffer) => line(c));
    up.on('end', () => line(undefined));
    client.on('end', () => up.end());
    up.on('error', () => client.destroy());
    client.on('error', () => up.destroy());
  });
  return listen(server);
}

const hr = () => Number(process.hrtime.bigint()) / 1e6;

function delayLine(delayMs: number, out: (c: Buffer | undefined) => void): (c: Buffer | undefined) => void {
  const queue: Array<{ due: number; c: Buffer | undefined }> = [];
  let running = false;
  const pump = () => {
    const head = queue[0];
    if (!head) return void (running = false);
    const left = head.due - hr();
    if (left > 3) setTimeout(pump, left - 3);
    else if (left > 0) setImmediate(pump);
    else {
      queue.shift();
      out(head.c);
      pump();
    }
  };
  return (c) => {
    queue.push({ due: hr() + delayMs, c });
    if (!running) {
      running = true;
      pump();
    }
  };
}

export interface TestCa {
  key: forge.pki.rsa.KeyPair;
  cert: forge.pki.Certificate;
  pem: string;
}

const DAY = 86_400_000;

function makeCert(opts: { cn: string; publicKey: forge.pki.PublicKey; issuer?: TestCa; signKey: forge.pki.rsa.PrivateKey; notBefore: Date; notAfter: Date; ca: boolean }) {
  const cert = forge.pki.createCertificate();
  cert.publicKey = opts.publicKey;
  cert.serialNumber = '01' + forge.util.bytesToHex(forge.random.getBytesSync(8));
  cert.validity.notBefore = opts.notBefore;
  cert.validity.notAfter = opts.notAfter;
  const subject = [{ name: 'commonName', value: opts.cn }];
  cert.setSubject(subject);
  cert.setIssuer(opts.issuer ? opts.issuer.cert.subject.attributes : subject);
  cert.setExtensions(
    opts.ca
      ? [{ name: 'basicConstraints', cA: true }, { name: 'keyUsage', keyCertSign: true, cRLSign: true }]
      : [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] }],
  );
  cert.sign(opts.signKey, forge.md.sha256.create());
  return cert;
}

export function makeCa(cn = 'linkwatch test CA', now = Date.now()): TestCa {
  const key = forge.pki.rsa.generateKeyPair(2048);
  const cert = makeCert({ cn, publicKey: key.publicKey, signKey: key.privateKey, notBefore: new Date(now - DAY), notAfter: new Date(now + 3650 * DAY), ca: true });
  return { key, cert, pem: forge.pki.certificateToPem(cert) };
}

/** A server certificate for localhost/127.0.0.1 signed by `ca`, valid from `notBefore` to `notAfter`. */
export function makeServerCert(ca: TestCa, notBefore: Date, notAfter: Date): { key: string; cert: string } {
  const key = forge.pki.rsa.generateKeyPair(2048);
  const cert = makeCert({ cn: 'localhost', publicKey: key.publicKey, issuer: ca, signKey: ca.key.privateKey, notBefore, notAfter, ca: false });
  return { key: forge.pki.privateKeyToPem(key.privateKey), cert: forge.pki.certificateToPem(cert) };
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export const httpServer = (handler: Handler) => listen(createHttpServer(handler));
export const httpsServer = (tls: { key: string; cert: string }, handler: Handler) => listen(createHttpsServer(tls, handler));
