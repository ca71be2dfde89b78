import { isIP } from 'node:net';
import { defaultGateway } from './netinfo.js';

/**
 * The default gateway as the OS reports it (agent/netinfo.ts), or undefined when there is none usable. Pure.
 * systeminformation answers `''` when it finds no default route, and on some Windows builds an address with a zone
 * or surrounding spaces.
 */
export function pickGateway(raw: unknown): string | undefined {
  if (typeof raw !== 'string') return undefined;
  const addr = raw.trim().replace(/%.*$/, '');
  if (isIP(addr) === 0 || addr === '0.0.0.0' || addr === '::') return undefined;
  return addr;
}

/**
 * Resolves `host: auto` to the default gateway: once at start, cached, and again after a probe of it failed (the
 * station may have been moved to another router or the DHCP lease changed).
 */
export class GatewayResolver {
  private cached: string | undefined;
  private pending: Promise<string | undefined> | undefined;

  constructor(private readonly lookup: () => Promise<unknown> = defaultGateway) {}

  /** The cached gateway, resolving it first when unknown. Never throws: undefined means "no default route". */
  async get(): Promise<string | undefined> {
    if (this.cached !== undefined) return this.cached;
    this.pending ??= this.lookup()
      .then(pickGateway, () => undefined)
      .then((gw) => {
        this.cached = gw;
        this.pending = undefined;
        return gw;
      });
    return this.pending;
  }

  /** Forgets the cached gateway, so the next `get()` resolves it again. */
  invalidate(): void {
    this.cached = undefined;
  }
}
