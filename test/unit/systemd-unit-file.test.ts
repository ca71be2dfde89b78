import { describe, expect, it } from 'vitest';
import { capabilitySet, parseUnitFile, servicePrivileges, setprivArgs } from '../helpers/systemd-unit.js';

// Semantics from systemd.exec(5): lists merge, `~` inverts, an empty assignment resets.
describe('reading a unit file\'s privileges', () => {
  it.each([
    [['CAP_NET_RAW'], ['net_raw']],
    [['CAP_NET_RAW', 'CAP_NET_BIND_SERVICE'], ['net_raw', 'net_bind_service']],
    [['CAP_NET_RAW CAP_NET_BIND_SERVICE', ''], []],
    [['', 'cap_net_raw'], ['net_raw']],
  ])('reads %j as %j', (values, caps) => {
    expect([...capabilitySet(values)!]).toEqual(caps);
  });

  it('reads ~ as every capability but those named', () => {
    const set = capabilitySet(['~CAP_SYS_ADMIN'])!;
    expect(set.has('sys_admin')).toBe(false);
    expect(set.has('net_raw')).toBe(true);
  });

  it('refuses a capability name it does not know, rather than dropping it', () => {
    expect(() => capabilitySet(['CAP_NET_RAWW'])).toThrow(/unknown capability/);
  });

  it('reads user, capabilities and no_new_privs across comments and continuation lines, last assignment winning', () => {
    const unit = parseUnitFile('[Unit]\nDescription=x\n\n[Service]\n# a comment\nUser=nobody\nUser=linkwatch\nAmbientCapabilities=CAP_NET_RAW \\\n  CAP_NET_BIND_SERVICE\n; another\nNoNewPrivileges=yes\n');
    const p = servicePrivileges(unit);
    expect(p).toEqual({ user: 'linkwatch', ambient: new Set(['net_raw', 'net_bind_service']), noNewPrivileges: true });
    expect(setprivArgs(p, 998)).toEqual([
      '--reuid', 'linkwatch', '--regid', '998', '--init-groups',
      '--inh-caps=-all,+net_raw,+net_bind_service', '--ambient-caps=+net_raw,+net_bind_service', '--no-new-privs',
    ]);
  });

  it('leaves the bounding set alone when the unit does not name one, and empties it for an empty assignment', () => {
    const none = servicePrivileges(parseUnitFile('[Service]\nUser=a\n'));
    expect(none.bounding).toBeUndefined();
    expect(setprivArgs(none, 1)).not.toContainEqual(expect.stringMatching(/^--bounding-set/));
    expect(setprivArgs(servicePrivileges(parseUnitFile('[Service]\nUser=a\nCapabilityBoundingSet=\n')), 1)).toContain('--bounding-set=-all');
  });
});
