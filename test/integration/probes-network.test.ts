import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/log.js';
import { dnsTarget, runDns } from '../../agent/probes/dns.js';
import { httpTarget, runHttp } from '../../agent/probes/http.js';
import { icmpTarget, runIcmp, runPing } from '../../agent/probes/icmp.js';
import { tcpProbe, tcpTarget } from '../../agent/probes/tcp.js';
import { runTls, tlsTarget } from '../../agent/probes/tls.js';
import type { ProbeContext } from '../../agent/probes/types.js';
import { close, delayingProxy, httpServer, httpsServer, listen, makeCa, makeServerCert, portOf } from '../helpers/probe-targets.js';

const DAY = 86_400_000;
const ctx = (timeoutMs = 1000): ProbeContext => ({ signal: AbortSignal.timeout(20_000), log: silentLogger(), timeoutMs });
const min = (xs: number[]) => Math.min(...xs);

/** A port nobody listens on: bound, noted, released. */
async function closedPort(): Promise<number> {
  const s = await listen(createServer());
  const port = portOf(s);
  await close(s);
  return port;
}

describe('icmp on loopback and the kill timer', () => {
  it('pings 127.0.0.1 with every echo answered', async () => {
    const r = await runIcmp(icmpTarget.parse({ name: 'lo', role: 'gateway', kind: 'icmp', host: '127.0.0.1', count: 3, spacing: '20ms' }), ctx());
    expect(r).toMatchObject({ ok: true, sent: 3, received: 3, loss: 0 });
  });

  it('reports a name that does not resolve as dns_error without running ping', async () => {
    const r = await runIcmp(icmpTarget.parse({ name: 'x', role: 'isp', kind: 'icmp', host: 'no-such-host.invalid' }), ctx());
    expect(r).toMatchObject({ ok: false, sent: 0, error: 'dns_error' });
  });

  it('kills a spawned process that outlives its budget', async () => {
    const t0 = Date.now();
    const run = await runPing({ file: 'sleep', args: ['5'], options: { windowsHide: true }, budgetMs: 200 }, new AbortController().signal);
    expect(run.killed).toBe(true);
    expect(Date.now() - t0).toBeLessThan(1500);
  });

  it('kills a spawned process when the cycle is aborted', async () => {
    const t0 = Date.now();
    const run = await runPing({ file: 'sleep', args: ['5'], options: { windowsHide: true }, budgetMs: 10_000 }, AbortSignal.timeout(150));
    expect(run.killed).toBe(true);
    expect(Date.now() - t0).toBeLessThan(1500);
  });
});

describe('tcp probe', () => {
  it('reports a refused port as refused, not a crash', async () => {
    const port = await closedPort();
    const r = await tcpProbe.run(tcpTarget.parse({ name: 't', role: 'core', kind: 'tcp', host: '127.0.0.1', port, count: 2 }), ctx());
    expect(r).toMatchObject({ ok: false, sent: 2, received: 0, loss: 1, error: 'refused' });
  });

  it('measures a handshake to a listening port in well under a millisecond on loopback', async () => {
    const s = await listen(createServer((c) => c.destroy()));
    const r = await tcpProbe.run(tcpTarget.parse({ name: 't', role: 'core', kind: 'tcp', host: '127.0.0.1', port: portOf(s), count: 3, spacing: '10ms' }), ctx());
    await close(s);
    expect(r).toMatchObject({ ok: true, sent: 3, received: 3, loss: 0 });
    expect(r.rtt_max_ms).toBeLessThan(20);
  });
});

describe('http probe', () => {
  let origin: Server;
  let proxy: Server;
  const DELAY = 80;
  beforeAll(async () => {
    origin = await httpServer((req, res) => {
      if (req.url === '/missing') res.writeHead(404).end('no');
      else if (req.url === '/slow') setTimeout(() => res.writeHead(200).end('late'), 2000);
      else res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
    proxy = await delayingProxy(portOf(origin), DELAY);
  });
  afterAll(async () => {
    await close(proxy);
    await close(origin);
  });

  it('measures the delay a proxy injects into time-to-first-byte within 2 ms', async () => {
    const direct: number[] = [];
    const via: number[] = [];
    // The minimum of several attempts, as for any delay measurement: a loaded test machine only ever adds time.
    for (let i = 0; i < 9; i++) {
      const d = await runHttp(httpTarget.parse({ name: 'h', role: 'service', kind: 'http', url: `http://127.0.0.1:${portOf(origin)}/` }), ctx());
      const p = await runHttp(httpTarget.parse({ name: 'h', role: 'service', kind: 'http', url: `http://127.0.0.1:${portOf(proxy)}/` }), ctx());
      expect(d.ok && p.ok).toBe(true);
      direct.push(d.phases!.ttfb_ms!);
      via.push(p.phases!.ttfb_ms!);
    }
    const measured = min(via) - min(direct);
    console.log(`http: injected ${DELAY} ms, measured ${measured.toFixed(3)} ms (error ${(measured - DELAY).toFixed(3)} ms)`);
    expect(Math.abs(measured - DELAY)).toBeLessThanOrEqual(2);
  });

  it('reports each phase and the status of a plain http target', async () => {
    const r = await runHttp(httpTarget.parse({ name: 'h', role: 'service', kind: 'http', url: `http://localhost:${portOf(origin)}/` }), ctx());
    expect(r).toMatchObject({ ok: true, status: 200, sent: 1, received: 1 });
    expect(Object.keys(r.phases!).sort()).toEqual(['connect_ms', 'dns_ms', 'ttfb_ms']);
  });

  it('fails an unexpected status as http_status and keeps the status', async () => {
    const r = await runHttp(httpTarget.parse({ name: 'h', role: 'service', kind: 'http', url: `http://127.0.0.1:${portOf(origin)}/missing` }), ctx());
    expect(r).toMatchObject({ ok: false, status: 404, error: 'http_status' });
  });

  it('accepts a status listed in expect_status', async () => {
    const r = await runHttp(httpTarget.parse({ name: 'h', role: 'service', kind: 'http', url: `http://127.0.0.1:${portOf(origin)}/missing`, expect_status: '200,404' }), ctx());
    expect(r).toMatchObject({ ok: true, status: 404 });
  });

  it('reports a response slower than the timeout as timeout', async () => {
    const r = await runHttp(httpTarget.parse({ name: 'h', role: 'service', kind: 'http', url: `http://127.0.0.1:${portOf(origin)}/slow`, timeout: '300ms' }), ctx());
    expect(r).toMatchObject({ ok: false, error: 'timeout', received: 0 });
  });

  it('reports a refused port as refused', async () => {
    const r = await runHttp(httpTarget.parse({ name: 'h', role: 'service', kind: 'http', url: `http://127.0.0.1:${await closedPort()}/` }), ctx());
    expect(r).toMatchObject({ ok: false, error: 'refused' });
  });
});

describe('tls and https probes', () => {
  const now = Date.now();
  const ca = makeCa();
  const other = makeCa('some other CA');
  const dir = mkdtempSync(join(tmpdir(), 'lw-tls-'));
  const caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, ca.pem);
  const servers: Record<string, Server> = {};
  beforeAll(async () => {
    const ok = (_: unknown, res: import('node:http').ServerResponse) => res.writeHead(200).end('ok');
    servers.valid = await httpsServer(makeServerCert(ca, new Date(now - DAY), new Date(now + 30 * DAY)), ok);
    servers.expired = await httpsServer(makeServerCert(ca, new Date(now - 30 * DAY), new Date(now - 2 * DAY)), ok);
    servers.untrusted = await httpsServer(makeServerCert(other, new Date(now - DAY), new Date(now + 30 * DAY)), ok);
  });
  afterAll(async () => {
    for (const s of Object.values(servers)) await close(s);
  });
  const tls = (server: string, extra: object = {}) =>
    runTls(tlsTarget.parse({ name: 't', role: 'service', kind: 'tls', host: '127.0.0.1', port: portOf(servers[server]!), ca: caFile, ...extra }), ctx(), () => now);

  it('measures connect and handshake and the days left on a trusted certificate', async () => {
    const r = await tls('valid');
    expect(r).toMatchObject({ ok: true, received: 1 });
    expect(r.cert_days).toBeCloseTo(30, 1);
    expect(r.phases!.connect_ms).toBeGreaterThan(0);
    expect(r.phases!.tls_ms).toBeGreaterThan(0);
  });

  it('names an expired certificate as tls_error CERT_HAS_EXPIRED with negative days', async () => {
    const r = await tls('expired');
    expect(r).toMatchObject({ ok: false, error: 'tls_error', detail: 'CERT_HAS_EXPIRED' });
    expect(r.cert_days).toBeCloseTo(-2, 1);
  });

  it('names a certificate from an untrusted CA as tls_error', async () => {
    const r = await tls('untrusted');
    expect(r).toMatchObject({ ok: false, error: 'tls_error' });
    expect(r.detail).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT/);
  });

  it('names a certificate for another name as tls_error', async () => {
    const r = await tls('valid', { servername: 'dancu.example.vn' });
    expect(r).toMatchObject({ ok: false, error: 'tls_error', detail: 'ERR_TLS_CERT_ALTNAME_INVALID' });
  });

  it('measures but does not fail an untrusted certificate when insecure', async () => {
    const r = await tls('untrusted', { insecure: true });
    expect(r.ok).toBe(true);
    expect(r.detail).toMatch(/^insecure: /);
  });

  it('reports a refused TLS port as refused', async () => {
    const r = await runTls(tlsTarget.parse({ name: 't', role: 'service', kind: 'tls', host: '127.0.0.1', port: await closedPort() }), ctx());
    expect(r).toMatchObject({ ok: false, error: 'refused' });
  });

  it('reports a server that accepts but never completes the handshake as timeout', async () => {
    const silent = await listen(createServer(() => {}));
    const r = await runTls(tlsTarget.parse({ name: 't', role: 'service', kind: 'tls', host: '127.0.0.1', port: portOf(silent), timeout: '300ms' }), ctx());
    await close(silent);
    expect(r).toMatchObject({ ok: false, error: 'timeout' });
  });

  it('https: reports DNS, connect, TLS and TTFB phases and the certificate days', async () => {
    const r = await runHttp(httpTarget.parse({ name: 'h', role: 'service', kind: 'http', url: `https://localhost:${portOf(servers.valid!)}/`, ca: caFile }), ctx(), () => now);
    expect(r).toMatchObject({ ok: true, status: 200 });
    expect(Object.keys(r.phases!).sort()).toEqual(['connect_ms', 'dns_ms', 'tls_ms', 'ttfb_ms']);
    expect(r.cert_days).toBeCloseTo(30, 1);
  });

  it('https: an expired certificate is tls_error, not a crash', async () => {
    const r = await runHttp(httpTarget.parse({ name: 'h', role: 'service', kind: 'http', url: `https://127.0.0.1:${portOf(servers.expired!)}/`, ca: caFile }), ctx(), () => now);
    expect(r).toMatchObject({ ok: false, error: 'tls_error', detail: 'CERT_HAS_EXPIRED' });
  });

  it('https: a certificate from an untrusted CA is tls_error', async () => {
    const r = await runHttp(httpTarget.parse({ name: 'h', role: 'service', kind: 'http', url: `https://127.0.0.1:${portOf(servers.untrusted!)}/`, ca: caFile }), ctx(), () => now);
    expect(r).toMatchObject({ ok: false, error: 'tls_error' });
  });
});

/** A minimal authoritative DNS server: answers A for `ok.test`, NXDOMAIN for `missing.test`, SERVFAIL for `broken.test`, nothing for `silent.test`. */
function dnsServer(): Promise<UdpSocket> {
  const sock = createSocket('udp4');
  sock.on('message', (msg: Buffer, from: RemoteInfo) => {
    let i = 12;
    const labels: string[] = [];
    while (msg[i]! !== 0) {
      labels.push(msg.subarray(i + 1, i + 1 + msg[i]!).toString('ascii'));
      i += msg[i]! + 1;
    }
    const question = msg.subarray(12, i + 5);
    const name = labels.join('.');
    if (name === 'silent.test') return;
    const rcode = name === 'ok.test' ? 0 : name === 'broken.test' ? 2 : 3;
    const header = Buffer.alloc(12);
    msg.copy(header, 0, 0, 2);
    header.writeUInt16BE(0x8400 | (msg.readUInt16BE(2) & 0x0100) | rcode, 2);
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(rcode === 0 ? 2 : 0, 6);
    const answers = rcode === 0 ? [answerA('10.1.2.3'), answerA('10.1.2.4')] : [];
    sock.send(Buffer.concat([header, question, ...answers]), from.port, from.address);
  });
  return new Promise((resolve) => sock.bind(0, '127.0.0.1', () => resolve(sock)));
}
function answerA(ip: string) {
  const b = Buffer.alloc(16);
  b.writeUInt16BE(0xc00c, 0);
  b.writeUInt16BE(1, 2);
  b.writeUInt16BE(1, 4);
  b.writeUInt32BE(60, 6);
  b.writeUInt16BE(4, 10);
  ip.split('.').forEach((o, k) => b.writeUInt8(Number(o), 12 + k));
  return b;
}

describe('dns probe', () => {
  let server: UdpSocket;
  let at: string;
  beforeAll(async () => {
    server = await dnsServer();
    at = `127.0.0.1:${server.address().port}`;
  });
  afterAll(() => server.close());
  const dns = (query: string, extra: object = {}) => runDns(dnsTarget.parse({ name: 'd', role: 'isp', kind: 'dns', query, server: at, ...extra }), ctx(500));

  it('times a resolution against the chosen server and counts the answers', async () => {
    const r = await dns('ok.test');
    expect(r).toMatchObject({ ok: true, status: 0, detail: 'NOERROR 2 A', received: 1 });
    expect(r.rtt_avg_ms).toBeLessThan(100);
  });

  it.each([
    ['missing.test', 'NXDOMAIN', 3],
    ['broken.test', 'SERVFAIL', 2],
  ])('names %s as %s', async (query, detail, status) => {
    expect(await dns(query)).toMatchObject({ ok: false, error: 'dns_error', detail, status });
  });

  it('reports a server that never answers as timeout', async () => {
    expect(await dns('silent.test', { timeout: '300ms' })).toMatchObject({ ok: false, error: 'timeout', received: 0 });
  });
});
