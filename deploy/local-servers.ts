/**
 * Starts and stops real mosquitto and influxd on free loopback ports with their data in a given directory.
 * The one helper behind the tests, the demo and the benchmarks. Each server is stopped by its PID.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** deploy/ in the source tree, whether this module runs from source or from dist/. */
export const DEPLOY_DIR = existsSync(join(here, 'mosquitto')) ? here : resolve(here, '../../deploy');

const SEARCH_PATH = ['/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/local/sbin', '/usr/local/bin'];

function findBinary(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':'), ...SEARCH_PATH];
  for (const dir of dirs) {
    const p = join(dir, name);
    if (dir && existsSync(p)) return p;
  }
  return undefined;
}

/** Installs mosquitto and influxdb from the distribution's packages when missing (deploy/install-deps.sh). */
export function ensureServersInstalled(): { mosquitto: string; influxd: string } {
  let mosquitto = findBinary('mosquitto');
  let influxd = findBinary('influxd');
  if (!mosquitto || !influxd) {
    const r = spawnSync('bash', [join(DEPLOY_DIR, 'install-deps.sh')], { stdio: 'inherit' });
    if (r.status !== 0) throw new Error('deploy/install-deps.sh failed: mosquitto or influxd could not be installed');
    mosquitto = findBinary('mosquitto');
    influxd = findBinary('influxd');
  }
  if (!mosquitto || !influxd) throw new Error('mosquitto or influxd still missing after deploy/install-deps.sh');
  return { mosquitto, influxd };
}

/** A free TCP port on 127.0.0.1 (the OS picks it; the caller binds it moments later). */
export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? res(addr.port) : rej(new Error('no port'))));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((res) => {
    const sock = connect({ port, host: '127.0.0.1' });
    sock.once('connect', () => {
      sock.destroy();
      res(true);
    });
    sock.once('error', () => res(false));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, ok: () => Promise<boolean>, child: ChildProcess, logFile: string, ms = 20_000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-2000) : '';
      throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}) while starting:\n${log}`);
    }
    if (await ok()) return;
    await sleep(50);
  }
  throw new Error(`${what} did not become ready within ${ms} ms`);
}

/** A server process started by this helper. */
export interface LocalServer {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  pid(): number | undefined;
  /** Graceful stop (SIGTERM, then SIGKILL after 5 s). */
  stop(): Promise<void>;
  /** kill -9: no chance to save anything. */
  kill9(): Promise<void>;
  /** Starts it again on the same port and data dir. */
  start(): Promise<void>;
}

function waitExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => child.once('exit', () => r()));
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;
function track(child: ChildProcess) {
  running.add(child);
  child.once('exit', () => running.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // Servers must not outlive the process that started them, even when it exits without stopping them.
    process.once('exit', () => {
      for (const c of running) c.kill('SIGKILL');
    });
  }
}

function managed(
  name: string,
  port: number,
  url: string,
  dir: string,
  logFile: string,
  launch: () => ChildProcess,
  ready: () => Promise<boolean>,
): LocalServer {
  let child: ChildProcess | undefined;
  const server: LocalServer = {
    port,
    url,
    dir,
    pid: () => child?.pid,
    async start() {
      if (child && child.exitCode === null && child.signalCode === null) return;
      child = launch();
      track(child);
      await waitFor(name, ready, child, logFile);
    },
    async stop() {
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      c.kill('SIGTERM');
      const timer = setTimeout(() => c.kill('SIGKILL'), 5000);
      await waitExit(c);
      clearTimeout(timer);
    },
    async kill9() {
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      c.kill('SIGKILL');
      await waitExit(c);
    },
  };
  return server;
}

function fill(template: string, values: Record<string, string | number>): string {
  return template.replace(/\{\{(\w+)\}\}/g, (_, k: string) => {
    if (!(k in values)) throw new Error(`template value ${k} missing`);
    return String(values[k]);
  });
}

export interface MosquittoOptions {
  dir: string;
  /** Keep messages and sessions across restarts (default true). */
  persistence?: boolean;
  /** A config file to use instead of deploy/mosquitto/loopback.conf, with the same placeholders. */
  template?: string;
  /** Extra placeholder values for a custom template. */
  values?: Record<string, string | number>;
  port?: number;
}

export async function startMosquitto(opts: MosquittoOptions): Promise<LocalServer> {
  const { mosquitto } = ensureServersInstalled();
  const dir = resolve(opts.dir);
  mkdirSync(dir, { recursive: true });
  const port = opts.port ?? (await freePort());
  const conf = join(dir, 'mosquitto.conf');
  const template = readFileSync(opts.template ?? join(DEPLOY_DIR, 'mosquitto/loopback.conf'), 'utf8');
  writeFileSync(
    conf,
    fill(template, { PORT: port, DIR: dir, PERSISTENCE: opts.persistence === false ? 'false' : 'true', ...opts.values }),
  );
  const logFile = join(dir, 'mosquitto.log');
  const scheme = opts.values?.SCHEME ?? 'mqtt';
  const server = managed(
    'mosquitto',
    port,
    `${scheme}://127.0.0.1:${port}`,
    dir,
    logFile,
    () => spawn(mosquitto, ['-c', conf], { stdio: 'ignore' }),
    () => canConnect(port),
  );
  await server.start();
  return server;
}

export interface InfluxOptions {
  dir: string;
  auth?: boolean;
  port?: number;
}

export async function startInflux(opts: InfluxOptions): Promise<LocalServer> {
  const { influxd } = ensureServersInstalled();
  const dir = resolve(opts.dir);
  mkdirSync(dir, { recursive: true });
  const port = opts.port ?? (await freePort());
  const rpcPort = await freePort();
  const conf = join(dir, 'influxdb.conf');
  const template = readFileSync(join(DEPLOY_DIR, 'influxdb/loopback.conf'), 'utf8');
  writeFileSync(conf, fill(template, { HTTP_PORT: port, RPC_PORT: rpcPort, DIR: dir, AUTH: opts.auth ? 'true' : 'false' }));
  const logFile = join(dir, 'influxd.log');
  const url = `http://127.0.0.1:${port}`;
  const server = managed(
    'influxd',
    port,
    url,
    dir,
    logFile,
    () => {
      const child = spawn(influxd, ['-config', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
      // influxd logs to stderr; keep the tail in a file for error reports.
      let buf = '';
      child.stderr?.on('data', (d: Buffer) => {
        buf = (buf + d.toString('utf8')).slice(-20_000);
        writeFileSync(logFile, buf);
      });
      return child;
    },
    async () => {
      try {
        const r = await fetch(`${url}/ping`);
        return r.status === 204;
      } catch {
        return false;
      }
    },
  );
  await server.start();
  return server;
}
