/**
 * Wine for the Windows tests: a fresh prefix per test file (Windows 10, no Node anywhere on it), the Windows
 * executable run in it with its output in files (node.exe under Wine 8 fails when stdout/stderr is a pipe), and
 * everything stopped by PID, then the prefix's own wineserver.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../deploy/exe/runtimes.js';
import { buildExecutables, EXECUTABLES } from '../../deploy/exe/build.js';

/** Installs wine when missing (deploy/install-wine.sh); returns why not when it cannot. */
export function ensureWine(): string | undefined {
  const r = spawnSync('bash', [join(REPO_ROOT, 'deploy', 'install-wine.sh')], { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) return `wine is not installed and could not be (deploy/install-wine.sh: ${(r.stderr || r.error?.message || '').trim().slice(-300)})`;
  return undefined;
}

const SOURCES = ['agent', 'lib', 'protocol', 'deploy/exe'];
function newest(dir: string): number {
  let t = 0;
  const walk = (d: string) => {
    for (const name of execFileSync('ls', ['-1', d], { encoding: 'utf8' }).split('\n').filter(Boolean)) {
      const p = join(d, name);
      const s = statSync(p);
      if (s.isDirectory()) walk(p);
      else if (name.endsWith('.ts')) t = Math.max(t, s.mtimeMs);
    }
  };
  walk(join(REPO_ROOT, dir));
  return t;
}

/** The executables, built by `npm run build:exe` (or here, when missing or older than the agent's sources). */
export async function ensureExecutables(): Promise<typeof EXECUTABLES> {
  const sources = Math.max(...SOURCES.map(newest), statSync(join(REPO_ROOT, 'package.json')).mtimeMs);
  const built = Math.min(...Object.values(EXECUTABLES).map((f) => {
    try {
      return statSync(f).mtimeMs;
    } catch {
      return 0;
    }
  }));
  if (built < sources) await buildExecutables(() => {});
  return EXECUTABLES;
}

export interface WineProc {
  child: ChildProcess;
  /** stdout and stderr so far. */
  output(): string;
  exited: Promise<number | null>;
  kill9(): Promise<void>;
}

export interface WinePrefix {
  dir: string;
  env: NodeJS.ProcessEnv;
  /** The Unix path of a Windows path on drive C:. */
  unix(winPath: string): string;
  /** Starts a Windows program; its output goes to a file. */
  start(args: string[], name?: string): WineProc;
  /** Runs a Windows program to its end: exit code and output. */
  run(args: string[], timeoutMs?: number): Promise<{ code: number | null; output: string }>;
  close(): void;
}

let seq = 0;

/** A new prefix under `dir`, set to Windows 10 (Node refuses the Windows 7 a fresh prefix reports). */
export function createPrefix(dir: string): WinePrefix {
  mkdirSync(dir, { recursive: true });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    WINEPREFIX: dir,
    WINEDEBUG: '-all',
    // No Mono or Gecko install prompts, no display.
    WINEDLLOVERRIDES: 'mscoree,mshtml=',
    DISPLAY: '',
  };
  // wineboot leaves its services.exe behind; stop that wineserver so every later command shares one session.
  execFileSync('wineboot', ['-i'], { env, stdio: 'ignore', timeout: 180_000 });
  execFileSync('winecfg', ['-v', 'win10'], { env, stdio: 'ignore', timeout: 60_000 });
  execFileSync('wineserver', ['-w'], { env, stdio: 'ignore', timeout: 60_000 });
  const logs = join(dir, 'test-logs');
  mkdirSync(logs, { recursive: true });
  const procs: WineProc[] = [];
  const prefix: WinePrefix = {
    dir,
    env,
    unix: (winPath) => join(dir, 'drive_c', ...winPath.replace(/^[cC]:\\/, '').split('\\')),
    start(args, name = `p${++seq}`) {
      const file = join(logs, `${name}.log`);
      const fd = openSync(file, 'w');
      const child = spawn('wine', args, { env, stdio: ['ignore', fd, fd] });
      closeSync(fd);
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      const p: WineProc = {
        child,
        output: () => readFileSync(file, 'utf8'),
        exited,
        async kill9() {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
          await exited;
        },
      };
      procs.push(p);
      return p;
    },
    async run(args, timeoutMs = 120_000) {
      const p = prefix.start(args);
      const timer = setTimeout(() => void p.kill9(), timeoutMs);
      const code = await p.exited;
      clearTimeout(timer);
      return { code, output: p.output() };
    },
    close() {
      for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
      // The prefix's own wineserver (and the services.exe it runs) exit with it.
      spawnSync('wineserver', ['-k'], { env, stdio: 'ignore', timeout: 30_000 });
    },
  };
  return prefix;
}
