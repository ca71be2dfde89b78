/**
 * Reads the privileges a systemd service unit gives its process, so a test can run the process with exactly those
 * (setpriv) and the unit file and the test cannot drift apart. Semantics from systemd.exec(5): capability lists may
 * repeat (merged), `~` inverts a line, an empty assignment resets to the empty set; booleans are 1/yes/true/on.
 */

/** `[Section]` → key → every value assigned, in order (continuation lines joined). */
export type UnitFile = Map<string, Map<string, string[]>>;

export function parseUnitFile(text: string): UnitFile {
  const unit: UnitFile = new Map();
  let section: Map<string, string[]> | undefined;
  const lines = text.replace(/\\\r?\n/g, ' ').split(/\r?\n/);
  for (const raw of lines) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const head = /^\[(.+)\]$/.exec(line);
    if (head) {
      section = unit.get(head[1]!) ?? new Map<string, string[]>();
      unit.set(head[1]!, section);
      continue;
    }
    const eq = line.indexOf('=');
    if (!section || eq < 0) throw new Error(`not a unit file line: ${raw}`);
    const key = line.slice(0, eq).trim();
    section.set(key, [...(section.get(key) ?? []), line.slice(eq + 1).trim()]);
  }
  return unit;
}

/** Every capability systemd knows of, for `~` lines; the kernel's list (capability.h) as setpriv names them. */
const ALL_CAPS = [
  'chown', 'dac_override', 'dac_read_search', 'fowner', 'fsetid', 'kill', 'setgid', 'setuid', 'setpcap', 'linux_immutable',
  'net_bind_service', 'net_broadcast', 'net_admin', 'net_raw', 'ipc_lock', 'ipc_owner', 'sys_module', 'sys_rawio',
  'sys_chroot', 'sys_ptrace', 'sys_pacct', 'sys_admin', 'sys_boot', 'sys_nice', 'sys_resource', 'sys_time',
  'sys_tty_config', 'mknod', 'lease', 'audit_write', 'audit_control', 'setfcap', 'mac_override', 'mac_admin', 'syslog',
  'wake_alarm', 'block_suspend', 'audit_read', 'perfmon', 'bpf', 'checkpoint_restore',
];

/** A capability list as systemd reads it, lower-case without `cap_`; undefined when the key is never assigned. */
export function capabilitySet(values: string[] | undefined): Set<string> | undefined {
  if (values === undefined) return undefined;
  let set = new Set<string>();
  for (const v of values) {
    if (v === '') {
      set = new Set();
      continue;
    }
    const invert = v.startsWith('~');
    const caps = v.replace(/^~/, '').split(/\s+/).filter(Boolean).map((c) => c.toLowerCase().replace(/^cap_/, ''));
    for (const c of caps) if (!ALL_CAPS.includes(c)) throw new Error(`unknown capability ${c}`);
    if (invert) set = new Set([...(set.size > 0 ? set : ALL_CAPS)].filter((c) => !caps.includes(c)));
    else for (const c of caps) set.add(c);
  }
  return set;
}

const truthy = (v: string | undefined) => v !== undefined && /^(1|yes|true|on)$/i.test(v);

/** The privileges of a service's process, as the unit declares them. */
export interface ServicePrivileges {
  user: string;
  ambient: Set<string>;
  /** Undefined: the bounding set is left as it is. */
  bounding?: Set<string>;
  noNewPrivileges: boolean;
}

export function servicePrivileges(unit: UnitFile): ServicePrivileges {
  const service = unit.get('Service');
  if (!service) throw new Error('no [Service] section');
  const last = (k: string) => service.get(k)?.at(-1);
  const bounding = capabilitySet(service.get('CapabilityBoundingSet'));
  return {
    user: last('User') ?? 'root',
    ambient: capabilitySet(service.get('AmbientCapabilities')) ?? new Set(),
    ...(bounding ? { bounding } : {}),
    noNewPrivileges: truthy(last('NoNewPrivileges')),
  };
}

/**
 * setpriv(1) arguments giving a process those privileges. As systemd does for a non-root User=: the user's primary
 * group and supplementary groups, inheritable = ambient (the kernel keeps only ambient capabilities that are also
 * inheritable and permitted, which setpriv, started as root, has).
 */
export function setprivArgs(p: ServicePrivileges, primaryGid: number): string[] {
  const caps = (s: Set<string>) => [...s].map((c) => `+${c}`);
  return [
    '--reuid', p.user, '--regid', String(primaryGid), '--init-groups',
    `--inh-caps=${['-all', ...caps(p.ambient)].join(',')}`,
    ...(p.ambient.size > 0 ? [`--ambient-caps=${caps(p.ambient).join(',')}`] : []),
    ...(p.bounding ? [`--bounding-set=${['-all', ...caps(p.bounding)].join(',')}`] : []),
    ...(p.noNewPrivileges ? ['--no-new-privs'] : []),
  ];
}
