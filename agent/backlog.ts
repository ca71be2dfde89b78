import { spawn } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { z } from 'zod';
import { durationMs } from '../lib/config-file.js';
import { itemName, type BacklogSample } from '../protocol/report.js';
import { readCa } from './probes/tls.js';

export const backlogSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    name: itemName,
    kind: z.literal('dir'),
    /** The folder where records wait to be synced. */
    path: z.string().min(1),
    /** Only names matching this simple glob (`*.xml`, `HS_*`); default: every file. */
    pattern: z.string().min(1).optional(),
  }),
  z.strictObject({
    name: itemName,
    kind: z.literal('http'),
    url: z.string().regex(/^https?:\/\/.+/i, 'expected an http:// or https:// URL'),
    /** Dotted path to the number in the JSON answer: `pending`, `data.pending`, `queues.0.size`. */
    field: z.string().min(1),
    /** Optional dotted path to the age (seconds) of the oldest waiting record. */
    age_field: z.string().min(1).optional(),
    ca: z.string().min(1).optional(),
    timeout: durationMs.prefault('5s'),
  }),
  z.strictObject({
    name: itemName,
    kind: z.literal('command'),
    /** Run through the platform shell (`/bin/sh -c`, `cmd.exe /d /s /c`); its first number printed is the count. */
    command: z.string().min(1),
    timeout: durationMs.prefault('5s'),
  }),
]);
export type BacklogConfig = z.output<typeof backlogSchema>;

// ── pure parts ─────────────────────────────────────────────────────────────────────────────────────────────────

/** A simple glob (`*`, `?`) as an anchored, case-insensitive regex (Windows file names are case-insensitive). */
export function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'i');
}

/** Summarises the files of a folder. Pure. */
export function summarizeFiles(files: ReadonlyArray<{ size: number; mtimeMs: number }>, nowMs: number): { pending: number; bytes: number; oldest_age_s?: number } {
  if (files.length === 0) return { pending: 0, bytes: 0 };
  const oldest = Math.min(...files.map((f) => f.mtimeMs));
  return { pending: files.length, bytes: files.reduce((a, f) => a + f.size, 0), oldest_age_s: Math.max(0, Math.round((nowMs - oldest) / 100) / 10) };
}

/** The number at a dotted path of parsed JSON, or why there is none. Numeric strings count. Pure. */
export function readField(data: unknown, path: string): { value: number } | { error: string } {
  let cur: unknown = data;
  for (const key of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return { error: `no field ${path}` };
    cur = Array.isArray(cur) && /^\d+$/.test(key) ? cur[Number(key)] : (cur as Record<string, unknown>)[key];
  }
  const value = typeof cur === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(cur) ? Number(cur) : cur;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) return { error: `field ${path} is not a count: ${JSON.stringify(cur)?.slice(0, 40)}` };
  return { value };
}

/** The first number a command printed. Pure. */
export function parseCount(stdout: string): { value: number } | { error: string } {
  const m = /-?\d+(?:[.,]\d+)?/.exec(stdout);
  if (!m) return { error: `no number in output: ${JSON.stringify(stdout.trim().slice(0, 60))}` };
  const value = Number(m[0].replace(',', '.'));
  if (value < 0) return { error: `negative count ${value}` };
  return { value };
}

// ── shell ───────────────────────────────────────────────────────────────────────────────────────────────────────

const fail = (source: string, error: string): BacklogSample => ({ source, error: error.slice(0, 300) });

export async function readDir(cfg: Extract<BacklogConfig, { kind: 'dir' }>, now: () => number): Promise<BacklogSample> {
  try {
    const re = cfg.pattern ? globToRegExp(cfg.pattern) : undefined;
    const entries = await readdir(cfg.path, { withFileTypes: true });
    const files: Array<{ size: number; mtimeMs: number }> = [];
    for (const e of entries) {
      if (!e.isFile() || (re && !re.test(e.name))) continue;
      // A file synced (deleted) between readdir and stat is simply no longer waiting.
      const st = await stat(join(cfg.path, e.name)).catch(() => undefined);
      if (st) files.push({ size: st.size, mtimeMs: st.mtimeMs });
    }
    return { source: cfg.name, ...summarizeFiles(files, now()) };
  } catch (err) {
    return fail(cfg.name, `${(err as NodeJS.ErrnoException).code ?? 'error'}: ${cfg.path}`);
  }
}

export function readHttp(cfg: Extract<BacklogConfig, { kind: 'http' }>, signal: AbortSignal): Promise<BacklogSample> {
  const { ca, error } = readCa(cfg.ca);
  if (error) return Promise.resolve(fail(cfg.name, error));
  return new Promise((resolve) => {
    const url = new URL(cfg.url);
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, {
      headers: { accept: 'application/json', 'user-agent': 'linkwatch-agent' },
      signal: AbortSignal.any([signal, AbortSignal.timeout(cfg.timeout)]),
      ...(ca ? { ca } : {}),
    });
    req.once('error', (err: NodeJS.ErrnoException) => resolve(fail(cfg.name, err.name === 'AbortError' ? `no answer within ${cfg.timeout} ms` : (err.code ?? err.message))));
    req.once('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > 1_000_000) req.destroy(new Error('answer larger than 1 MB'));
        else chunks.push(c);
      });
      res.once('end', () => {
        if ((res.statusCode ?? 0) >= 400) return resolve(fail(cfg.name, `HTTP ${res.statusCode}`));
        let data: unknown;
        try {
          data = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          return resolve(fail(cfg.name, 'answer is not JSON'));
        }
        const pending = readField(data, cfg.field);
        if ('error' in pending) return resolve(fail(cfg.name, pending.error));
        const age = cfg.age_field ? readField(data, cfg.age_field) : undefined;
        resolve({ source: cfg.name, pending: Math.round(pending.value), ...(age && 'value' in age ? { oldest_age_s: age.value } : {}) });
      });
    });
    req.end();
  });
}

/** Kills a shell and what it started: the process group on POSIX, the process tree (taskkill /T) on Windows. */
function killTree(pid: number | undefined, platform = process.platform): void {
  if (pid === undefined) return;
  try {
    if (platform === 'win32') spawn('taskkill', ['/pid', String(pid), '/T', '/F'], { windowsHide: true, stdio: 'ignore' }).on('error', () => {});
    else process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

export function readCommand(cfg: Extract<BacklogConfig, { kind: 'command' }>, signal: AbortSignal): Promise<BacklogSample> {
  return new Promise((resolve) => {
    const win = process.platform === 'win32';
    // shell: true is /bin/sh -c on POSIX and %ComSpec% /d /s /c on Windows; detached puts the POSIX shell in its own
    // process group so the kill timer reaches its children too.
    const child = spawn(cfg.command, { shell: true, windowsHide: true, detached: !win, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let killed = false;
    const kill = () => {
      killed = true;
      killTree(child.pid);
    };
    const timer = setTimeout(kill, cfg.timeout);
    signal.addEventListener('abort', kill, { once: true });
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    let done = false;
    const finish = (s: BacklogSample) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', kill);
      resolve(s);
    };
    child.once('error', (e: NodeJS.ErrnoException) => finish(fail(cfg.name, `cannot run: ${e.code ?? e.message}`)));
    child.once('close', (code) => {
      if (killed) return finish(fail(cfg.name, `killed after ${cfg.timeout} ms`));
      if (code !== 0) return finish(fail(cfg.name, `exit ${code}: ${Buffer.concat(err).toString('utf8').trim().slice(0, 200)}`));
      const n = parseCount(Buffer.concat(out).toString('utf8'));
      finish('error' in n ? fail(cfg.name, n.error) : { source: cfg.name, pending: Math.round(n.value) });
    });
  });
}

/** Reads every backlog source; each resolves with a count or an error, never a made-up zero. */
export function readBacklog(configs: readonly BacklogConfig[], signal: AbortSignal, now: () => number = Date.now): Promise<BacklogSample[]> {
  return Promise.all(
    configs.map((c) => {
      switch (c.kind) {
        case 'dir':
          return readDir(c, now);
        case 'http':
          return readHttp(c, signal);
        case 'command':
          return readCommand(c, signal);
      }
    }),
  );
}
