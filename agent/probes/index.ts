import { z } from 'zod';
import { tcpProbe, tcpTarget } from './tcp.js';
import type { ProbeKindDef } from './types.js';

/** Every probe kind, by `kind`. Adding a kind: one file, one line here and one in `targetSchema`. */
export const PROBES: Record<string, ProbeKindDef> = {
  tcp: tcpProbe,
};

export const targetSchema = z.discriminatedUnion('kind', [tcpTarget]);
export type Target = z.output<typeof targetSchema>;
