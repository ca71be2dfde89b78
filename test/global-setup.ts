import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureServersInstalled } from '../deploy/local-servers.js';

const SOURCES = ['lib', 'protocol', 'agent', 'collector', 'dashboards', 'deploy', 'cli'];

function newestSource(dir: string): number {
  let newest = 0;
  if (!existsSync(dir)) return newest;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

function builtAt(): number {
  try {
    return statSync('dist/cli/main.js').mtimeMs;
  } catch {
    return 0;
  }
}

/**
 * Before any test: mosquitto and influxd must be installed (deploy/install-deps.sh installs them when missing), and
 * dist/ must be current, since some tests run the real CLI as a child process (to kill it with SIGKILL).
 */
export default function setup(): () => void {
  ensureServersInstalled();
  const newest = Math.max(...SOURCES.map((d) => newestSource(d)));
  if (newest > builtAt()) execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', '.'], { stdio: 'inherit' });
  // Every temporary file of this run (tests, servers' data, child processes) goes under one directory, removed at
  // the end, so a run leaves nothing behind. The workers and their children inherit TMPDIR.
  const runDir = mkdtempSync(join(tmpdir(), 'linkwatch-test-'));
  process.env.TMPDIR = runDir;
  return () => rmSync(runDir, { recursive: true, force: true });
}
