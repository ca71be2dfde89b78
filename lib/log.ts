import { pino, type Logger } from 'pino';

export type { Logger };

/** The one root logger of a process; components take children of it (`log.child({ component })`). */
export function createLogger(opts: { level?: string; name?: string } = {}): Logger {
  return pino({
    name: opts.name ?? 'linkwatch',
    level: opts.level ?? process.env.LINKWATCH_LOG_LEVEL ?? 'info',
    redact: { paths: ['password', '*.password', 'broker.password', 'influx.password'], censor: '[secret]' },
  });
}

/** A logger that discards everything, for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
