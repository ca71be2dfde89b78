import { z } from 'zod';
import { GatewayResolver } from '../gateway.js';
import { dnsProbe, dnsTarget } from './dns.js';
import { httpProbe, httpTarget } from './http.js';
import { icmpProbe, icmpTarget } from './icmp.js';
import { tcpProbe, tcpTarget } from './tcp.js';
import { tlsProbe, tlsTarget } from './tls.js';
import type { ProbeKindDef, ProbeResult } from './types.js';

/**
 * The default-gateway resolver behind `host: auto`. One per process, because the gateway is a property of the host;
 * `startAgent` warms it at start.
 */
export const gatewayResolver = new GatewayResolver();

/**
 * Lets a probe with a `host` take `host: auto`: the default gateway, cached, and resolved again after a failed
 * probe of it (a moved router or a new DHCP lease should not leave the agent probing a stale address).
 */
export function withGateway<S extends z.ZodType<{ host: string }>>(def: ProbeKindDef<S>, resolver: GatewayResolver = gatewayResolver): ProbeKindDef<S> {
  return {
    schema: def.schema,
    async run(opts, ctx): Promise<ProbeResult> {
      if (opts.host !== 'auto') return def.run(opts, ctx);
      const gw = await resolver.get();
      if (!gw) return { ok: false, sent: 0, received: 0, loss: 1, error: 'unreachable', detail: 'no default gateway found' };
      const result = await def.run({ ...opts, host: gw }, ctx);
      if (!result.ok) resolver.invalidate();
      return { ...result, ...(result.detail ? { detail: `${gw}: ${result.detail}`.slice(0, 300) } : {}) };
    },
  };
}

/** Every probe kind, by `kind`. Adding a kind: one file, one line here and one in `targetSchema`. */
export const PROBES: Record<string, ProbeKindDef> = {
  icmp: withGateway(icmpProbe) as ProbeKindDef,
  tcp: withGateway(tcpProbe) as ProbeKindDef,
  tls: tlsProbe as ProbeKindDef,
  http: httpProbe as ProbeKindDef,
  dns: dnsProbe as ProbeKindDef,
};

export const targetSchema = z
  .discriminatedUnion('kind', [icmpTarget, tcpTarget, tlsTarget, httpTarget, dnsTarget])
  .superRefine((t, ctx) => {
    if ('host' in t && t.host === 'auto' && t.role !== 'gateway') {
      ctx.addIssue({ code: 'custom', path: ['host'], message: 'host: auto (the default gateway) needs role: gateway' });
    }
    if ('host' in t && t.host === 'auto' && t.kind !== 'icmp' && t.kind !== 'tcp') {
      ctx.addIssue({ code: 'custom', path: ['host'], message: 'host: auto works with kind icmp or tcp' });
    }
  });
export type Target = z.output<typeof targetSchema>;
