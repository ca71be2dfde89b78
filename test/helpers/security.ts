/**
 * Credentials and brokers for the security tests: a station CA with certificates and passwords in a temp dir, the
 * production mosquitto config rendered on a free port, and the embedded broker.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { credentialPaths, initCa, issueClientCert, issueServerCert, revoke, setPassword, writeAcl } from '../../cli/credentials.js';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../collector/embedded-broker.js';
import { startMosquitto, DEPLOY_DIR, type LocalServer } from '../../deploy/local-servers.js';
import { silentLogger } from '../../lib/log.js';

export interface Pki {
  dir: string;
  /** Another CA, unknown to the brokers, that issued a certificate for st-a. */
  foreignDir: string;
  passwords: Record<string, string>;
  /** TLS options for `name`: its certificate (from `dir`, or the foreign CA) and the CA to trust. */
  tls(name: string | undefined, from?: 'ours' | 'foreign'): IClientOptions;
}

/** st-a, st-b, st-revoked (revoked) and collector, by certificate and by password; st-a also from a foreign CA. */
export function makePki(dir: string): Pki {
  const foreignDir = join(dir, 'foreign');
  initCa(dir);
  issueServerCert(dir, ['localhost', '127.0.0.1']);
  const passwords: Record<string, string> = {};
  for (const name of ['st-a', 'st-b', 'st-revoked', 'collector']) {
    issueClientCert(dir, name);
    passwords[name] = setPassword(dir, name);
  }
  revoke(dir, 'st-revoked');
  writeAcl(dir);
  initCa(foreignDir, { commonName: 'linkwatch station CA' }); // same name, other key: only the signature tells them apart
  issueClientCert(foreignDir, 'st-a');
  const c = credentialPaths(dir);
  return {
    dir,
    foreignDir,
    passwords,
    tls(name, from = 'ours') {
      const src = credentialPaths(from === 'ours' ? dir : foreignDir);
      return {
        ca: readFileSync(c.caCert),
        rejectUnauthorized: true,
        ...(name ? { cert: readFileSync(src.clientCert(name)), key: readFileSync(src.clientKey(name)) } : {}),
      };
    },
  };
}

export type AuthMode = 'certificate' | 'password';

/** The production mosquitto config (deploy/mosquitto/production.conf) rendered for `pki` on a free loopback port. */
export function startProductionMosquitto(pki: Pick<Pki, 'dir'>, dir: string, auth: AuthMode, maxPacketBytes = 65_536): Promise<LocalServer> {
  const c = credentialPaths(pki.dir);
  mkdirSync(dir, { recursive: true });
  giveToMosquittoUser([pki.dir, dir]);
  return startMosquitto({
    dir,
    template: join(DEPLOY_DIR, 'mosquitto/production.conf'),
    values: {
      SCHEME: 'mqtts',
      BIND: '127.0.0.1',
      CA_FILE: c.caCert,
      CRL_FILE: c.crl,
      CERT_FILE: c.serverCert('localhost'),
      KEY_FILE: c.serverKey('localhost'),
      REQUIRE_CERTIFICATE: auth === 'certificate' ? 'true' : 'false',
      PASSWORD_FILE: c.passwd,
      ACL_FILE: c.acl,
      MAX_PACKET_BYTES: maxPacketBytes,
    },
  });
}

export function startTestEmbeddedBroker(pki: Pki, auth: AuthMode, maxPacketBytes = 65_536): Promise<EmbeddedBroker> {
  const c = credentialPaths(pki.dir);
  return startEmbeddedBroker(
    {
      listen: 'mqtts://127.0.0.1:0',
      cert: c.serverCert('localhost'),
      key: c.serverKey('localhost'),
      ca: c.caCert,
      crl: c.crl,
      auth,
      password_file: c.passwd,
      max_packet_bytes: maxPacketBytes,
    },
    { log: silentLogger(), configFile: 'test' },
  );
}

/** Connects once (no reconnects); resolves with the client or the error that refused it. */
export function tryConnect(url: string, opts: IClientOptions): Promise<{ client?: MqttClient; error?: Error }> {
  return new Promise((resolve) => {
    const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...opts });
    const done = (r: { client?: MqttClient; error?: Error }) => {
      client.removeAllListeners('connect');
      resolve(r);
    };
    client.once('connect', () => done({ client }));
    client.once('error', (error) => {
      client.end(true);
      done({ error });
    });
    client.once('close', () => {
      if (!client.connected) {
        client.end(true);
        done({ error: new Error('connection closed before CONNACK') });
      }
    });
  });
}

/**
 * mosquitto started as root drops to the `mosquitto` user before it reads the password and ACL files and opens its
 * log, as in production (docs/security.md: the broker's files belong to it). So when the tests run as root, the files
 * are handed over the same way, and the temp dirs above them opened for traversal.
 */
function giveToMosquittoUser(dirs: string[]) {
  if (process.platform === 'win32' || process.getuid?.() !== 0) return;
  const id = spawnSync('id', ['-u', 'mosquitto'], { encoding: 'utf8' });
  if (id.status !== 0) return;
  for (const d of dirs) {
    spawnSync('chown', ['-R', 'mosquitto:', d]);
    for (let p = dirname(d); p !== '/' && p !== dirname(p); p = dirname(p)) {
      if (p.startsWith('/tmp/') || p.includes('lw-')) chmodSync(p, 0o711);
    }
  }
}
