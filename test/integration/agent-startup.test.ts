/**
 * What the running agent's process loads, and in what order (docs/performance.md, "Agent footprint"): its V8 flags
 * must be set before its modules load, or Turbofan has already compiled during start-up and the flag saves nothing;
 * and the modules of the `credentials` tool are not the agent's. The real CLI runs with a module-loading hook
 * (`--import`, Node's `module.register`) that writes every URL it loads to a file, in order.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/env.js';
import { runCli } from '../helpers/proc.js';

const HOOKS = `
import { appendFileSync } from 'node:fs';
export async function load(url, context, next) {
  appendFileSync(process.env.LINKWATCH_TEST_LOAD_LOG, url + '\\n');
  return next(url, context);
}
`;

describe('the agent process', () => {
  it('sets its V8 flags before loading yaml, zod or its own modules, and never loads the credentials tool', async () => {
    const dir = tempDir('lw-startup-');
    writeFileSync(join(dir, 'hooks.mjs'), HOOKS);
    writeFileSync(join(dir, 'register.mjs'), `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)});\n`);
    const log = join(dir, 'loaded.txt');
    writeFileSync(log, '');
    const config = join(dir, 'agent.yaml');
    // Nothing listens on port 1: the agent starts, logs it, and retries the broker until it is stopped.
    writeFileSync(config, `station: bk-test\nbroker: { url: 'mqtt://127.0.0.1:1' }\noutbox: { path: ${JSON.stringify(join(dir, 'outbox'))} }\ntargets:\n  - { name: a, role: core, kind: tcp, host: 127.0.0.1, port: 1 }\n`);
    const agent = runCli(['agent', '--config', config], { NODE_OPTIONS: `--import ${pathToFileURL(join(dir, 'register.mjs')).href}`, LINKWATCH_TEST_LOAD_LOG: log });
    await new Promise<void>((resolve, reject) => {
      const check = () => (agent.output().includes('"msg":"agent started"') ? resolve() : undefined);
      agent.child.stdout!.on('data', check);
      void agent.exited.then((code) => reject(new Error(`agent exited (${code}):\n${agent.output()}`)));
    });
    await agent.stop();

    const loaded = readFileSync(log, 'utf8').split('\n').filter(Boolean);
    const first = (pattern: RegExp) => loaded.findIndex((url) => pattern.test(url));
    const flags = first(/\/dist\/agent\/v8-flags\.js$/);
    expect(flags).toBeGreaterThan(0);
    for (const later of [/\/node_modules\/yaml\//, /\/node_modules\/zod\//, /\/dist\/agent\/main\.js$/, /\/node_modules\/mqtt\//]) {
      expect(first(later), String(later)).toBeGreaterThan(flags);
    }
    expect(loaded.filter((url) => /\/node_modules\/(node-forge|csv-parse|iconv-lite)\/|\/dist\/(cli\/credentials|collector\/)/.test(url))).toEqual([]);
  }, 60_000);
});
