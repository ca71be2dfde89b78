import { pino, type Logger } from 'pino';
import { ConfigError } from './errors.js';

export type { Logger };

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * The level a process logs at: `LINKWATCH_LOG_LEVEL` when set, else the configured one, else `info`. The environment
 * wins because it is what a person sets for one run (`LINKWATCH_LOG_LEVEL=debug linkwatch agent …`, or in a service
 * unit) without editing a config that every station shares; configs always carry a level (default `info`), so an
 * environment that only filled a gap would never apply. Pure.
 */
export function resolveLogLevel(configured: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const raw = env.LINKWATCH_LOG_LEVEL?.trim().toLowerCase();
  if (raw) {
    if (!(LOG_LEVELS as readonly string[]).includes(raw)) {
      throw new ConfigError('environment', 'LINKWATCH_LOG_LEVEL', `"${env.LINKWATCH_LOG_LEVEL}" is not one of ${LOG_LEVELS.join(', ')}`);
    }
    return raw;
  }
  return configured ?? 'info';
}

/**
 * The one root logger of a process; components take children of it (`log.child({ component })`). Logs go to stdout,
 * or to stderr with `stderr: true` for a command whose stdout is its result (`agent --once --json`).
 */
export function createLogger(opts: { level?: string; name?: string; env?: NodeJS.ProcessEnv; stderr?: boolean } = {}): Logger {
  const options = {
    name: opts.name ?? 'linkwatch',
    level: resolveLogLevel(opts.level, opts.env ?? process.env),
    redact: { paths: ['password', '*.password', 'broker.password', 'influx.password'], censor: '[secret]' },
  };
  return opts.stderr ? pino(options, pino.destination(2)) : pino(options);
}

/** A logger that discards everything, for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
