// postject ships no types; this is the part of its API (dist/api.js) the build uses.
declare module 'postject' {
  export function inject(filename: string, resourceName: string, resourceData: Buffer, options?: { sentinelFuse?: string; overwrite?: boolean; machoSegmentName?: string }): Promise<void>;
}
