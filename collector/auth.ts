/**
 * Who may do what on the broker: the one ACL of linkwatch, as pure functions. The embedded broker calls them on every
 * publish and subscribe; `mosquittoAcl` renders the same rules as a mosquitto ACL file, and the security tests check
 * both brokers against the same table.
 *
 * Identity is the MQTT username, which is the station id (from the password file or the certificate's CN).
 * A station writes only its own report/status/event topics and reads only its own ack topic; the collector reads
 * reports, status and events of every station and writes acks.
 */
import { pbkdf2Sync, randomBytes, timingSafeEqual, createHash } from 'node:crypto';
import { STATION_ID } from '../protocol/report.js';
import { CANARY_TOPIC, SHARED_GROUP, TOPIC_ROOT } from '../protocol/topics.js';

/** The usernames the collectors connect with by default; each collector needs its own (username = client id). */
export const DEFAULT_COLLECTORS: readonly string[] = ['collector'];

export interface AclPolicy {
  /** Usernames with collector rights. None of them may be a station id in the registry. */
  collectors: ReadonlySet<string>;
}

export type Action = 'publish' | 'subscribe';

/** Topics a station may publish to, under `linkwatch/v1/<its id>/`. */
export const STATION_WRITES = ['report', 'status', 'event'] as const;

/** Subscription filters the collector may use (and anything narrower). */
export const COLLECTOR_READS: readonly string[] = [
  `${TOPIC_ROOT}/+/report`,
  `$share/${SHARED_GROUP}/${TOPIC_ROOT}/+/report`,
  `${TOPIC_ROOT}/+/status`,
  `$share/${SHARED_GROUP}/${TOPIC_ROOT}/+/status`,
  `${TOPIC_ROOT}/+/event`,
  `$share/${SHARED_GROUP}/${TOPIC_ROOT}/+/event`,
];
export const COLLECTOR_WRITES: readonly string[] = [`${TOPIC_ROOT}/+/ack`, CANARY_TOPIC];

/**
 * Whether `username` may publish to `topic` or subscribe to the filter `topic`. Unknown, empty and wildcard-bearing
 * usernames get nothing: a username is a topic level, and `+`, `#` or `/` in it would widen the grant.
 */
export function isAllowed(username: string | undefined, action: Action, topic: string, policy: AclPolicy): boolean {
  if (!username) return false;
  if (policy.collectors.has(username)) {
    if (action === 'subscribe') return COLLECTOR_READS.some((acl) => filterCovers(acl, topic));
    return !hasWildcard(topic) && COLLECTOR_WRITES.some((acl) => filterCovers(acl, topic));
  }
  if (!STATION_ID.test(username)) return false;
  if (action === 'publish') {
    return !hasWildcard(topic) && STATION_WRITES.some((kind) => topic === `${TOPIC_ROOT}/${username}/${kind}`);
  }
  return filterCovers(`${TOPIC_ROOT}/${username}/ack`, topic);
}

function hasWildcard(topic: string): boolean {
  return topic.includes('+') || topic.includes('#');
}

/**
 * True when every topic matched by `filter` is also matched by `acl` (both MQTT filters). A literal ACL level covers
 * only the same literal, `+` covers any one level but not `#`, and `#` covers the rest.
 */
export function filterCovers(acl: string, filter: string): boolean {
  if (filter.length === 0) return false;
  const a = acl.split('/');
  const f = filter.split('/');
  for (let i = 0; i < f.length; i++) {
    const al = a[i];
    const fl = f[i]!;
    if (al === undefined) return false;
    if (al === '#') return true;
    if (fl === '#') return false;
    if (al === '+') continue;
    if (fl === '+' || al !== fl) return false;
  }
  // `a/#` also matches `a` itself (MQTT-4.7.1-2).
  return a.length === f.length || (a.length === f.length + 1 && a[f.length] === '#');
}

/** The same rules as a mosquitto ACL file (`acl_file`); `pattern` lines apply to every user, `%u` is the username. */
export function mosquittoAcl(collectors: Iterable<string> = DEFAULT_COLLECTORS): string {
  const lines = [
    '# linkwatch broker ACL, written by `linkwatch credentials acl`; collector/auth.ts isAllowed() is the same rule.',
    '# A station (username = station id) writes only its own report/status/event topics and reads only its own acks.',
  ];
  for (const kind of STATION_WRITES) lines.push(`pattern write ${TOPIC_ROOT}/%u/${kind}`);
  lines.push(`pattern read ${TOPIC_ROOT}/%u/ack`);
  for (const user of collectors) {
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(user)) throw new Error(`collector username "${user}" must match [A-Za-z0-9._-]{1,64}`);
    lines.push('', `# collector: reads reports, status and events of every station, writes acks and its canary (collector/watchdog.ts)`, `user ${user}`);
    for (const t of COLLECTOR_READS) lines.push(`topic read ${t}`);
    for (const t of COLLECTOR_WRITES) lines.push(`topic write ${t}`);
  }
  return `${lines.join('\n')}\n`;
}

// ── password files (mosquitto format, so one file serves mosquitto and the embedded broker) ──

/** PBKDF2-SHA512 iterations; mosquitto_passwd 2.0 uses 101 and reads any count. */
const PBKDF2_ITERATIONS = 101;

/** One line of a mosquitto password file for `username`: `user:$7$<iterations>$<salt b64>$<hash b64>`. */
export function passwordLine(username: string, password: string, salt: Buffer = randomBytes(12)): string {
  if (!/^[^:\s]{1,64}$/.test(username)) throw new Error(`username "${username}" cannot go into a password file`);
  const hash = pbkdf2Sync(password, salt, PBKDF2_ITERATIONS, 64, 'sha512');
  return `${username}:$7$${PBKDF2_ITERATIONS}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** Parses a mosquitto password file into username → hash entry. Unknown hash formats are kept and never match. */
export function parsePasswordFile(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const i = line.indexOf(':');
    if (i <= 0) continue;
    out.set(line.slice(0, i), line.slice(i + 1));
  }
  return out;
}

/** Checks a password against a mosquitto hash (`$7$` PBKDF2-SHA512 or `$6$` salted SHA-512), in constant time. */
export function verifyPassword(entry: string | undefined, password: Buffer | string | undefined): boolean {
  if (entry === undefined || password === undefined) return false;
  const pw = typeof password === 'string' ? Buffer.from(password, 'utf8') : password;
  const parts = entry.split('$');
  let expected: Buffer;
  let actual: Buffer;
  if (parts.length === 5 && parts[1] === '7') {
    const iterations = Number(parts[2]);
    if (!Number.isSafeInteger(iterations) || iterations < 1 || iterations > 10_000_000) return false;
    expected = Buffer.from(parts[4]!, 'base64');
    if (expected.length !== 64) return false;
    actual = pbkdf2Sync(pw, Buffer.from(parts[3]!, 'base64'), iterations, 64, 'sha512');
  } else if (parts.length === 4 && parts[1] === '6') {
    expected = Buffer.from(parts[3]!, 'base64');
    if (expected.length !== 64) return false;
    actual = createHash('sha512').update(pw).update(Buffer.from(parts[2]!, 'base64')).digest();
  } else {
    return false;
  }
  return timingSafeEqual(expected, actual);
}
