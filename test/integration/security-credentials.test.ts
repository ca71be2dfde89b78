import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { loadAgentConfig } from '../../agent/main.js';
import { parsePasswordFile, verifyPassword } from '../../collector/auth.js';
import { parseRegistry } from '../../collector/registry.js';
import { credentialPaths, initCa, issueClientCert, issueServerCert, revoke, setPassword, writeAgentConfig, listIssued } from '../../cli/credentials.js';
import { tempDir } from '../helpers/env.js';
import { rmSync, writeFileSync } from 'node:fs';

// openssl is the independent judge here: what it accepts, mosquitto (OpenSSL) and Node (OpenSSL) accept.
function openssl(...args: string[]) {
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  return { ok: r.status === 0, out: `${r.stdout}${r.stderr}` };
}

describe('linkwatch credentials: station CA, certificates, CRL, passwords, agent configs', () => {
  let dir: string;
  const c = () => credentialPaths(dir);

  beforeAll(() => {
    dir = tempDir('lw-pki-');
    initCa(dir);
    issueServerCert(dir, ['localhost', '127.0.0.1']);
    issueClientCert(dir, 'st-a');
    issueClientCert(dir, 'st-b');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('issues client certificates that verify against the CA and name the station in the CN', () => {
    const v = openssl('verify', '-CAfile', c().caCert, '-purpose', 'sslclient', c().clientCert('st-a'));
    expect(v.out).toContain('OK');
    expect(openssl('x509', '-in', c().clientCert('st-a'), '-noout', '-subject').out).toMatch(/CN ?= ?st-a/);
  });

  it('keeps private keys readable by their owner only', () => {
    if (process.platform === 'win32') return;
    expect(statSync(c().caKey).mode & 0o077).toBe(0);
    expect(statSync(c().clientKey('st-a')).mode & 0o077).toBe(0);
  });

  it('issues a broker certificate that cannot be used as a client certificate', () => {
    expect(openssl('verify', '-CAfile', c().caCert, '-purpose', 'sslserver', c().serverCert('localhost')).ok).toBe(true);
    expect(openssl('verify', '-CAfile', c().caCert, '-purpose', 'sslclient', c().serverCert('localhost')).ok).toBe(false);
  });

  it('writes a CRL signed by the CA that revokes exactly the revoked station', () => {
    const serials = revoke(dir, 'st-b');
    expect(serials).toHaveLength(1);
    const crl = openssl('crl', '-in', c().crl, '-CAfile', c().caCert, '-noout', '-text');
    expect(crl.out).toContain('verify OK');
    expect(crl.out.toUpperCase()).toContain(serials[0]!.toUpperCase());
    expect(openssl('verify', '-CAfile', c().caCert, '-crl_check', '-CRLfile', c().crl, c().clientCert('st-a')).ok).toBe(true);
    const b = openssl('verify', '-CAfile', c().caCert, '-crl_check', '-CRLfile', c().crl, c().clientCert('st-b'));
    expect(b.ok).toBe(false);
    expect(b.out).toContain('revoked');
    expect(listIssued(dir).find((x) => x.name === 'st-b')?.revoked_at).toBeDefined();
  });

  it.each([['st/a'], ['st+'], ['#'], ['ST-A'], ['']])('refuses to issue a certificate named %j', (name) => {
    expect(() => issueClientCert(dir, name)).toThrow(/must match/);
  });

  it('refuses a station id that is also a collector name, and names missing from the registry', () => {
    const stations = new Map([['collector', {}], ['st-a', {}]]);
    expect(() => issueClientCert(dir, 'collector', { stations })).toThrow(/both a collector/);
    expect(() => issueClientCert(dir, 'st-zz', { stations })).toThrow(/not in the registry/);
  });

  it('writes mosquitto-compatible password entries that mosquitto_passwd can verify against', () => {
    const pw = setPassword(dir, 'st-a');
    const entries = parsePasswordFile(readFileSync(c().passwd, 'utf8'));
    expect(verifyPassword(entries.get('st-a'), pw)).toBe(true);
    expect(verifyPassword(entries.get('st-a'), `${pw}x`)).toBe(false);
    expect(readFileSync(c().clientPassword('st-a'), 'utf8').trim()).toBe(pw);
    // And the other way round: an entry written by mosquitto_passwd verifies here.
    const f = join(dir, 'mp');
    const r = spawnSync('mosquitto_passwd', ['-c', '-b', f, 'st-c', 'hunter2']);
    if (r.status === 0) expect(verifyPassword(parsePasswordFile(readFileSync(f, 'utf8')).get('st-c'), 'hunter2')).toBe(true);
  });

  it('writes an agent config per registry station that the agent accepts', () => {
    const stations = parseRegistry('id,name,commune,district,province,lat,lon,isp,circuit,sla_target\nst-a,A,A,D,P,22,105,VNPT,c1,99.5\n');
    const file = writeAgentConfig(dir, 'st-a', { brokerUrl: 'mqtts://hub.example:8883', auth: 'certificate', installDir: '/etc/linkwatch', protocolVersion: 4, stations });
    const raw = YAML.parse(readFileSync(file, 'utf8')) as { broker: Record<string, unknown> };
    expect(raw.broker).toMatchObject({ username: 'st-a', cert: '/etc/linkwatch/cert.pem', key: '/etc/linkwatch/key.pem', ca: '/etc/linkwatch/ca.pem', protocol_version: 4 });
    // Loaded with the paths pointed at this directory's files, the agent's own schema accepts it.
    raw.broker.cert = c().clientCert('st-a');
    raw.broker.key = c().clientKey('st-a');
    raw.broker.ca = c().caCert;
    const local = join(dir, 'agent-local.yaml');
    writeFileSync(local, YAML.stringify({ ...raw, outbox: { path: join(dir, 'outbox') } }));
    expect(loadAgentConfig(local).broker.username).toBe('st-a');
    expect(() => writeAgentConfig(dir, 'st-x', { brokerUrl: 'mqtts://h:8883', auth: 'password', installDir: 'C:\\ProgramData\\linkwatch', protocolVersion: 5, stations })).toThrow(/not in the registry/);
  });
});
