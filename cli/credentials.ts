/**
 * `linkwatch credentials`: a small station CA and the broker's credential files, in pure JS (node-forge), so it runs
 * the same on the Linux hub and on a Windows admin PC.
 *
 * Layout of the credentials directory (`--dir`, default ./pki):
 *   ca.pem ca.key index.json crl.pem          the station CA, what it issued, what it revoked
 *   server/<host>.pem server/<host>.key       the broker's TLS certificate (serverAuth only)
 *   clients/<name>/{cert,key,ca}.pem          a station's (or collector's) client certificate (clientAuth only)
 *   clients/<name>/password                   its broker password, when password authentication is used
 *   clients/<name>/agent.yaml                 its agent config
 *   mosquitto/passwd mosquitto/acl            mosquitto's password_file and acl_file (also read by the embedded broker)
 *
 * The CA issues client certificates only for names matching the station-id alphabet, so a certificate name can never
 * widen an ACL pattern (`%u` with `/`, `+` or `#`).
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { posix, win32, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import forge from 'node-forge';
import YAML from 'yaml';
import { STATION_ID } from '../protocol/report.js';
import { DEFAULT_COLLECTORS, mosquittoAcl, parsePasswordFile, passwordLine } from '../collector/auth.js';
import { loadRegistry, RegistryError } from '../collector/registry.js';
import { CommanderError, type Command } from 'commander';
import { CredentialsError } from '../lib/errors.js';

const { pki, asn1, md } = forge;
const DAY_MS = 86_400_000;

export interface IssuedCert {
  name: string;
  kind: 'client' | 'server';
  serial: string;
  not_after: string;
  revoked_at?: string;
}

interface CaIndex {
  crl_number: number;
  certs: IssuedCert[];
}

export interface CaOptions {
  commonName?: string;
  days?: number;
  now?: () => number;
}

const paths = (dir: string) => ({
  caCert: join(dir, 'ca.pem'),
  caKey: join(dir, 'ca.key'),
  index: join(dir, 'index.json'),
  crl: join(dir, 'crl.pem'),
  passwd: join(dir, 'mosquitto', 'passwd'),
  acl: join(dir, 'mosquitto', 'acl'),
  client: (name: string) => join(dir, 'clients', name),
});

/** The files of a credentials directory. */
export function credentialPaths(dir: string) {
  const p = paths(dir);
  return {
    caCert: p.caCert,
    caKey: p.caKey,
    crl: p.crl,
    passwd: p.passwd,
    acl: p.acl,
    clientCert: (name: string) => join(p.client(name), 'cert.pem'),
    clientKey: (name: string) => join(p.client(name), 'key.pem'),
    clientPassword: (name: string) => join(p.client(name), 'password'),
    agentConfig: (name: string) => join(p.client(name), 'agent.yaml'),
    serverCert: (host: string) => join(dir, 'server', `${host}.pem`),
    serverKey: (host: string) => join(dir, 'server', `${host}.key`),
  };
}

function writePrivate(file: string, text: string) {
  writeFileSync(file, text, { mode: 0o600 });
  // writeFileSync's mode only applies when it creates the file.
  if (process.platform !== 'win32') chmodSync(file, 0o600);
}

function randomSerial(): string {
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f; // a positive INTEGER
  if (b[0] === 0) b[0] = 1; // and no leading zero octet to strip
  return b.toString('hex');
}

function readIndex(dir: string): CaIndex {
  return JSON.parse(readFileSync(paths(dir).index, 'utf8')) as CaIndex;
}

function writeIndex(dir: string, index: CaIndex) {
  writeFileSync(paths(dir).index, `${JSON.stringify(index, null, 2)}\n`);
}

function loadCa(dir: string): { cert: forge.pki.Certificate; key: forge.pki.rsa.PrivateKey } {
  const p = paths(dir);
  if (!existsSync(p.caCert) || !existsSync(p.caKey)) throw new CredentialsError(`no CA in ${dir}: run \`linkwatch credentials ca init --dir ${dir}\` first`);
  return {
    cert: pki.certificateFromPem(readFileSync(p.caCert, 'utf8')),
    key: pki.privateKeyFromPem(readFileSync(p.caKey, 'utf8')) as forge.pki.rsa.PrivateKey,
  };
}

/** Creates the station CA (RSA 3072, self-signed) and an empty CRL. Refuses to overwrite an existing CA. */
export function initCa(dir: string, opts: CaOptions = {}): void {
  const p = paths(dir);
  if (existsSync(p.caKey)) throw new CredentialsError(`${p.caKey} exists; refusing to replace the CA (every station would need new certificates)`);
  mkdirSync(dir, { recursive: true });
  const now = new Date((opts.now ?? Date.now)());
  const keys = pki.rsa.generateKeyPair({ bits: 3072 });
  const cert = pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = randomSerial();
  cert.validity.notBefore = new Date(now.getTime() - 5 * 60_000);
  cert.validity.notAfter = new Date(now.getTime() + (opts.days ?? 3650) * DAY_MS);
  const subject = [{ name: 'commonName', value: opts.commonName ?? 'linkwatch station CA' }, { name: 'organizationName', value: 'linkwatch' }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(keys.privateKey, md.sha256.create());
  writePrivate(p.caKey, pki.privateKeyToPem(keys.privateKey));
  writeFileSync(p.caCert, pki.certificateToPem(cert));
  writeIndex(dir, { crl_number: 0, certs: [] });
  writeCrl(dir, opts);
}

function issue(dir: string, name: string, kind: 'client' | 'server', opts: { days?: number; now?: () => number; hosts?: string[] }) {
  const ca = loadCa(dir);
  const now = new Date((opts.now ?? Date.now)());
  const keys = pki.rsa.generateKeyPair({ bits: 2048 });
  const cert = pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = randomSerial();
  cert.validity.notBefore = new Date(now.getTime() - 5 * 60_000);
  cert.validity.notAfter = new Date(now.getTime() + (opts.days ?? 825) * DAY_MS);
  cert.setSubject([{ name: 'commonName', value: name }, { name: 'organizationName', value: 'linkwatch' }]);
  cert.setIssuer(ca.cert.subject.attributes);
  const extensions: object[] = [
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    // A broker certificate cannot log in as a client, nor a station certificate serve as a broker.
    { name: 'extKeyUsage', serverAuth: kind === 'server', clientAuth: kind === 'client' },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: ca.cert.generateSubjectKeyIdentifier().getBytes() },
  ];
  if (kind === 'server') {
    extensions.push({ name: 'subjectAltName', altNames: (opts.hosts ?? [name]).map((h) => (isIP(h) ? { type: 7, ip: h } : { type: 2, value: h })) });
  }
  cert.setExtensions(extensions);
  cert.sign(ca.key, md.sha256.create());
  const index = readIndex(dir);
  index.certs.push({ name, kind, serial: cert.serialNumber, not_after: cert.validity.notAfter.toISOString() });
  writeIndex(dir, index);
  return { cert: pki.certificateToPem(cert), key: pki.privateKeyToPem(keys.privateKey), serial: cert.serialNumber };
}

/** Issues the broker's TLS certificate for `hosts` (DNS names or IPs; the first is the file name). */
export function issueServerCert(dir: string, hosts: string[], opts: { days?: number; now?: () => number } = {}): { cert: string; key: string } {
  const host = hosts[0];
  if (!host || hosts.some((h) => !/^[A-Za-z0-9.:-]{1,253}$/.test(h))) throw new CredentialsError('server certificate: give one or more DNS names or IP addresses');
  const c = credentialPaths(dir);
  const out = issue(dir, host, 'server', { ...opts, hosts });
  mkdirSync(join(dir, 'server'), { recursive: true });
  writeFileSync(c.serverCert(host), out.cert);
  writePrivate(c.serverKey(host), out.key);
  return { cert: c.serverCert(host), key: c.serverKey(host) };
}

/** Checks that `name` can be a broker identity: the station-id alphabet, or a collector name. */
export function checkIdentity(name: string, opts: { collectors?: readonly string[]; stations?: ReadonlyMap<string, unknown> } = {}): 'station' | 'collector' {
  const collectors = opts.collectors ?? DEFAULT_COLLECTORS;
  if (!STATION_ID.test(name)) throw new CredentialsError(`"${name}" must match [a-z0-9][a-z0-9-]{0,62}`);
  if (collectors.includes(name)) {
    if (opts.stations?.has(name)) throw new CredentialsError(`"${name}" is both a collector name and a station id in the registry`);
    return 'collector';
  }
  if (opts.stations && !opts.stations.has(name)) throw new CredentialsError(`station "${name}" is not in the registry`);
  return 'station';
}

/** Issues a client certificate for a station or a collector: clients/<name>/{cert,key,ca}.pem. */
export function issueClientCert(dir: string, name: string, opts: { days?: number; now?: () => number; collectors?: readonly string[]; stations?: ReadonlyMap<string, unknown> } = {}): { cert: string; key: string; ca: string; serial: string } {
  checkIdentity(name, opts);
  const c = credentialPaths(dir);
  const out = issue(dir, name, 'client', opts);
  mkdirSync(paths(dir).client(name), { recursive: true });
  writeFileSync(c.clientCert(name), out.cert);
  writePrivate(c.clientKey(name), out.key);
  copyFileSync(c.caCert, join(paths(dir).client(name), 'ca.pem'));
  return { cert: c.clientCert(name), key: c.clientKey(name), ca: join(paths(dir).client(name), 'ca.pem'), serial: out.serial };
}

/** Revokes every unrevoked certificate issued to `name` and re-signs the CRL. Returns the revoked serials. */
export function revoke(dir: string, name: string, opts: { now?: () => number } = {}): string[] {
  const index = readIndex(dir);
  const at = new Date((opts.now ?? Date.now)()).toISOString();
  const serials: string[] = [];
  for (const c of index.certs) {
    if (c.name === name && !c.revoked_at) {
      c.revoked_at = at;
      serials.push(c.serial);
    }
  }
  if (serials.length === 0) throw new CredentialsError(`no unrevoked certificate issued to "${name}"`);
  writeIndex(dir, index);
  writeCrl(dir, opts);
  return serials;
}

/**
 * Signs a fresh CRL (v2, with a CRL number) listing every revoked certificate. node-forge has no CRL writer, so it is
 * built from its ASN.1 parts (RFC 5280 §5.1). `nextUpdate` is far out: this CA's CRL is a local file, not fetched.
 */
export function writeCrl(dir: string, opts: { now?: () => number; days?: number } = {}): string {
  const ca = loadCa(dir);
  const index = readIndex(dir);
  index.crl_number += 1;
  const now = new Date((opts.now ?? Date.now)());
  const U = asn1.Class.UNIVERSAL;
  const T = asn1.Type;
  const seq = (items: forge.asn1.Asn1[]) => asn1.create(U, T.SEQUENCE, true, items);
  const int = (hex: string) => asn1.create(U, T.INTEGER, false, forge.util.hexToBytes(hex));
  const time = (d: Date) => asn1.create(U, T.UTCTIME, false, asn1.dateToUtcTime(d));
  const oid = (o: string) => asn1.create(U, T.OID, false, asn1.oidToDer(o).getBytes());
  const sigAlg = () => seq([oid(pki.oids.sha256WithRSAEncryption!), asn1.create(U, T.NULL, false, '')]);
  const revoked = index.certs.filter((c) => c.revoked_at).map((c) => seq([int(c.serial), time(new Date(c.revoked_at!))]));
  const crlNumber = asn1.create(U, T.INTEGER, false, asn1.integerToDer(index.crl_number).getBytes());
  const tbs = seq([
    asn1.create(U, T.INTEGER, false, asn1.integerToDer(1).getBytes()), // v2
    sigAlg(),
    (pki as unknown as { distinguishedNameToAsn1(dn: unknown): forge.asn1.Asn1 }).distinguishedNameToAsn1(ca.cert.subject),
    time(now),
    time(new Date(now.getTime() + (opts.days ?? 3650) * DAY_MS)),
    ...(revoked.length > 0 ? [seq(revoked)] : []),
    asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, [
      seq([seq([oid('2.5.29.20'), asn1.create(U, T.OCTETSTRING, false, asn1.toDer(crlNumber).getBytes())])]),
    ]),
  ]);
  const digest = md.sha256.create();
  digest.update(asn1.toDer(tbs).getBytes());
  const signature = ca.key.sign(digest);
  const crl = seq([tbs, sigAlg(), asn1.create(U, T.BITSTRING, false, String.fromCharCode(0) + signature)]);
  const pem = forge.pem.encode({ type: 'X509 CRL', body: asn1.toDer(crl).getBytes() });
  writeFileSync(paths(dir).crl, pem);
  writeIndex(dir, index);
  return paths(dir).crl;
}

/** Lists what the CA issued. */
export function listIssued(dir: string): IssuedCert[] {
  return readIndex(dir).certs;
}

/**
 * Sets a broker password for `name` in mosquitto/passwd (PBKDF2-SHA512, mosquitto's `$7$` format) and keeps it in
 * clients/<name>/password (mode 600) for the agent. A new random password unless one is given.
 */
export function setPassword(dir: string, name: string, opts: { password?: string; collectors?: readonly string[]; stations?: ReadonlyMap<string, unknown> } = {}): string {
  checkIdentity(name, opts);
  const password = opts.password ?? randomBytes(24).toString('base64url');
  const p = paths(dir);
  mkdirSync(join(dir, 'mosquitto'), { recursive: true });
  const entries = existsSync(p.passwd) ? parsePasswordFile(readFileSync(p.passwd, 'utf8')) : new Map<string, string>();
  entries.set(name, passwordLine(name, password).slice(name.length + 1));
  writePrivate(p.passwd, [...entries].map(([u, h]) => `${u}:${h}\n`).join(''));
  mkdirSync(p.client(name), { recursive: true });
  writePrivate(credentialPaths(dir).clientPassword(name), `${password}\n`);
  return password;
}

/** Removes `name` from mosquitto/passwd. */
export function removePassword(dir: string, name: string): boolean {
  const p = paths(dir);
  if (!existsSync(p.passwd)) return false;
  const entries = parsePasswordFile(readFileSync(p.passwd, 'utf8'));
  const had = entries.delete(name);
  writePrivate(p.passwd, [...entries].map(([u, h]) => `${u}:${h}\n`).join(''));
  return had;
}

/** Writes mosquitto/acl from the one ACL (collector/auth.ts). */
export function writeAcl(dir: string, collectors: readonly string[] = DEFAULT_COLLECTORS): string {
  mkdirSync(join(dir, 'mosquitto'), { recursive: true });
  writeFileSync(paths(dir).acl, mosquittoAcl(collectors));
  return paths(dir).acl;
}

/** The station's OS: where its files go, and which path syntax they are written in. */
export type StationOs = 'linux' | 'windows';

/**
 * Where an agent's files go by default. Linux: the config and credentials in /etc/linkwatch, the outbox in the unit's
 * StateDirectory= (/var/lib/linkwatch), the only place ProtectSystem=strict leaves writable. Windows: all under
 * C:\ProgramData\linkwatch.
 */
export const STATION_DIRS: Record<StationOs, { install: string; outbox: string }> = {
  linux: { install: '/etc/linkwatch', outbox: '/var/lib/linkwatch/outbox' },
  windows: { install: 'C:\\ProgramData\\linkwatch', outbox: 'C:\\ProgramData\\linkwatch\\outbox' },
};

const looksWindows = (p: string) => /^[A-Za-z]:[\\/]|\\/.test(p);

export interface AgentConfigOptions {
  brokerUrl: string;
  auth: 'certificate' | 'password';
  /** The station's OS; default: windows when `installDir` is a Windows path, else linux. */
  os?: StationOs;
  /** Where the config and credential files go on the station PC; default per OS (STATION_DIRS). */
  installDir?: string;
  /** The outbox directory on the station PC; default per OS (STATION_DIRS). */
  outboxPath?: string;
  protocolVersion: 4 | 5;
  targets?: unknown[];
}

/** The agent config of one station: broker URL, identity and where its credential files sit on the station PC. */
export function agentConfigFor(station: string, o: AgentConfigOptions): Record<string, unknown> {
  const os: StationOs = o.os ?? (o.installDir !== undefined && looksWindows(o.installDir) ? 'windows' : 'linux');
  const installDir = o.installDir ?? STATION_DIRS[os].install;
  const path = os === 'windows' ? win32 : posix;
  const at = (f: string) => path.join(installDir, f);
  return {
    station,
    interval: '10s',
    broker: {
      url: o.brokerUrl,
      username: station,
      ca: at('ca.pem'),
      ...(o.auth === 'certificate' ? { cert: at('cert.pem'), key: at('key.pem') } : { password_file: at('password') }),
      protocol_version: o.protocolVersion,
    },
    outbox: { path: o.outboxPath ?? STATION_DIRS[os].outbox, max_bytes: '256MB' },
    targets: o.targets ?? [{ name: 'gw', role: 'gateway', kind: 'icmp', host: 'auto' }],
  };
}

/**
 * An agent config as YAML. Strings holding a backslash (Windows paths) are single-quoted, where YAML keeps every
 * character as written: in a double-quoted string `\l` would be an escape, and a plain one is easily broken by hand.
 */
export function agentConfigYaml(config: Record<string, unknown>): string {
  const doc = new YAML.Document(config);
  YAML.visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value === 'string' && node.value.includes('\\')) node.type = 'QUOTE_SINGLE';
    },
  });
  return doc.toString();
}

/** Writes clients/<station>/agent.yaml for a station of the registry. */
export function writeAgentConfig(dir: string, station: string, o: AgentConfigOptions & { stations: ReadonlyMap<string, unknown> }): string {
  if (!o.stations.has(station)) throw new CredentialsError(`station "${station}" is not in the registry`);
  const file = credentialPaths(dir).agentConfig(station);
  mkdirSync(paths(dir).client(station), { recursive: true });
  if (!existsSync(join(paths(dir).client(station), 'ca.pem')) && existsSync(paths(dir).caCert)) copyFileSync(paths(dir).caCert, join(paths(dir).client(station), 'ca.pem'));
  writeFileSync(file, `# linkwatch agent of ${station}, written by \`linkwatch credentials agent-config\`\n${agentConfigYaml(agentConfigFor(station, o))}`);
  return file;
}

// ── commander wiring ──

type Cmd = Command;

const list = (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean);

/** Adds the `credentials` subcommands to a commander command. A CredentialsError prints its message and exits 2. */
export function credentialsCommand(cmd: Cmd): Cmd {
  // Every action goes through this: a CredentialsError or RegistryError is the operator's to fix, not a crash.
  const guard = <A extends unknown[]>(fn: (...args: A) => void) => (...args: A): void => {
    try {
      fn(...args);
    } catch (err) {
      if (!(err instanceof CredentialsError || err instanceof RegistryError)) throw err;
      process.stderr.write(`linkwatch credentials: ${err.message}\n`);
      throw new CommanderError(2, 'linkwatch.credentials', err.message);
    }
  };
  const out = (s: string): void => {
    process.stdout.write(`${s}\n`);
  };
  const common = (c: Cmd) => c.option('-d, --dir <dir>', 'credentials directory', './pki');
  const withIds = (c: Cmd) =>
    common(c)
      .option('-r, --registry <csv>', 'station registry: names must be stations in it (or collectors)')
      .option('--all', 'every station of the registry')
      .option('--collectors <names>', 'collector usernames, comma-separated', DEFAULT_COLLECTORS.join(','));
  const names = (args: string[], o: { registry?: string; all?: boolean }) => {
    const stations = o.registry ? loadRegistry(o.registry) : undefined;
    if (o.all && !stations) throw new CredentialsError('--all needs --registry');
    const ids = o.all ? [...stations!.keys()] : args;
    if (ids.length === 0) throw new CredentialsError('name at least one station (or --all with --registry)');
    return { ids, ...(stations ? { stations } : {}) };
  };

  const ca = cmd.command('ca').description('the station certificate authority');
  common(ca.command('init').description('create the station CA and an empty CRL'))
    .option('--cn <name>', 'CA common name', 'linkwatch station CA')
    .option('--days <n>', 'validity in days', '3650')
    .action(guard((o: { dir: string; cn: string; days: string }) => {
      initCa(o.dir, { commonName: o.cn, days: Number(o.days) });
      out(`CA written to ${credentialPaths(o.dir).caCert}; keep ${credentialPaths(o.dir).caKey} offline if you can`);
    }));
  common(cmd.command('server <hosts...>').description('issue the broker TLS certificate for these DNS names / IPs'))
    .option('--days <n>', 'validity in days', '825')
    .action(guard((hosts: string[], o: { dir: string; days: string }) => {
      const r = issueServerCert(o.dir, hosts, { days: Number(o.days) });
      out(`${r.cert}\n${r.key}`);
    }));
  withIds(cmd.command('issue [names...]').description('issue client certificates (CN = station id or collector name)'))
    .option('--days <n>', 'validity in days', '825')
    .action(guard((args: string[], o: { dir: string; registry?: string; all?: boolean; collectors: string; days: string }) => {
      const { ids, stations } = names(args, o);
      for (const id of ids) out(issueClientCert(o.dir, id, { days: Number(o.days), collectors: list(o.collectors), ...(stations ? { stations } : {}) }).cert);
    }));
  common(cmd.command('revoke <names...>').description('revoke the certificates of stations and re-sign the CRL (restart the broker after)'))
    .option('--keep-password', 'leave their password in mosquitto/passwd')
    .action(guard((args: string[], o: { dir: string; keepPassword?: boolean }) => {
      for (const id of args) {
        out(`revoked ${id}: ${revoke(o.dir, id).join(' ')}`);
        if (!o.keepPassword && removePassword(o.dir, id)) out(`removed ${id} from ${credentialPaths(o.dir).passwd}`);
      }
      out(`CRL: ${credentialPaths(o.dir).crl}`);
    }));
  common(cmd.command('crl').description('re-sign the CRL')).action(guard((o: { dir: string }) => {
    out(writeCrl(o.dir));
  }));
  common(cmd.command('list').description('list issued certificates')).action(guard((o: { dir: string }) => {
    for (const c of listIssued(o.dir)) out(`${c.kind}\t${c.name}\t${c.serial}\t${c.not_after}${c.revoked_at ? `\trevoked ${c.revoked_at}` : ''}`);
  }));
  withIds(cmd.command('passwd [names...]').description('set broker passwords (random, written to clients/<name>/password and mosquitto/passwd)'))
    .option('--password-env <var>', 'take the password from this environment variable instead (one name only)')
    .action(guard((args: string[], o: { dir: string; registry?: string; all?: boolean; collectors: string; passwordEnv?: string }) => {
      const { ids, stations } = names(args, o);
      const given = o.passwordEnv ? process.env[o.passwordEnv] : undefined;
      if (o.passwordEnv && (!given || ids.length !== 1)) throw new CredentialsError(`--password-env needs ${o.passwordEnv} set and exactly one name`);
      for (const id of ids) {
        setPassword(o.dir, id, { collectors: list(o.collectors), ...(stations ? { stations } : {}), ...(given ? { password: given } : {}) });
        out(`${id}: ${credentialPaths(o.dir).clientPassword(id)}`);
      }
    }));
  common(cmd.command('acl').description('write mosquitto/acl'))
    .option('--collectors <names>', 'collector usernames, comma-separated', DEFAULT_COLLECTORS.join(','))
    .action(guard((o: { dir: string; collectors: string }) => {
      out(writeAcl(o.dir, list(o.collectors)));
    }));
  withIds(cmd.command('agent-config [stations...]').description('write clients/<station>/agent.yaml from the registry'))
    .requiredOption('--broker-url <url>', 'mqtts://hub.example:8883')
    .option('--auth <mode>', 'certificate or password', 'certificate')
    .option('--os <os>', 'the station\'s OS: linux or windows, for the default paths and their syntax (default: windows when --install-dir is a Windows path, else linux)')
    .option('--install-dir <dir>', 'where the config and credentials go on the station PC (default: /etc/linkwatch; windows: C:\\ProgramData\\linkwatch)')
    .option('--outbox-path <dir>', 'the outbox directory on the station PC (default: /var/lib/linkwatch/outbox, the unit\'s StateDirectory; windows: C:\\ProgramData\\linkwatch\\outbox)')
    .option('--protocol-version <n>', '5 (mosquitto) or 4 (embedded broker)', '5')
    .option('--targets <file>', 'YAML list of targets for every station')
    .action(guard((args: string[], o: { dir: string; registry?: string; all?: boolean; brokerUrl: string; auth: string; os?: string; installDir?: string; outboxPath?: string; protocolVersion: string; targets?: string }) => {
      const { ids, stations } = names(args, o);
      if (!stations) throw new CredentialsError('agent-config needs --registry');
      if (o.auth !== 'certificate' && o.auth !== 'password') throw new CredentialsError('--auth must be certificate or password');
      const os = o.os ?? (o.installDir !== undefined && looksWindows(o.installDir) ? 'windows' : 'linux');
      if (os !== 'linux' && os !== 'windows') throw new CredentialsError('--os must be linux or windows');
      for (const [opt, value] of [['--install-dir', o.installDir], ['--outbox-path', o.outboxPath]] as const) {
        if (value !== undefined && looksWindows(value) !== (os === 'windows')) throw new CredentialsError(`${opt} ${value} is not a ${os} path (--os ${os})`);
      }
      if (!/^mqtts:\/\//.test(o.brokerUrl)) throw new CredentialsError('--broker-url must be mqtts:// (TLS)');
      const targets = o.targets ? (YAML.parse(readFileSync(o.targets, 'utf8')) as unknown[]) : undefined;
      for (const id of ids) {
        out(writeAgentConfig(o.dir, id, {
          brokerUrl: o.brokerUrl, auth: o.auth, os, protocolVersion: o.protocolVersion === '4' ? 4 : 5, stations,
          ...(o.installDir !== undefined ? { installDir: o.installDir } : {}), ...(o.outboxPath !== undefined ? { outboxPath: o.outboxPath } : {}), ...(targets ? { targets } : {}),
        }));
      }
    }));
  return cmd;
}
