/**
 * The one catalogue of linkwatch's errors: every class a caller may catch, each with a stable `code`, and the
 * reasons a message is refused. Log an error as the object (`log.warn({ err }, 'constant message')`) so pino's
 * serializer keeps its type, code and stack; never as `err.message` alone.
 *
 * | code | class | thrown when |
 * |---|---|---|
 * | LW_CONFIG | ConfigError | a config file or a key in it is wrong (exit 2, before any network I/O) |
 * | LW_REGISTRY | RegistryError | the stations CSV is wrong (line and column named) |
 * | LW_MAINTENANCE | MaintenanceError | the maintenance file is wrong |
 * | LW_CREDENTIALS | CredentialsError | `linkwatch credentials` cannot do what it was asked |
 * | LW_STATUS | StatusError | `linkwatch status` cannot read the verdicts |
 * | LW_PAYLOAD | PayloadError | a report payload cannot be decoded (its `reason` is a reject reason) |
 * | LW_INFLUX_WRITE | InfluxWriteError | InfluxDB did not store a write (its `status` is the HTTP status, absent for a network error) |
 */

/** The base of every error linkwatch throws on purpose. */
export abstract class LinkwatchError extends Error {
  abstract readonly code: string;
}

export class ConfigError extends LinkwatchError {
  override readonly name = 'ConfigError';
  readonly code = 'LW_CONFIG';
  constructor(
    readonly file: string,
    readonly key: string,
    readonly problem: string,
  ) {
    super(`${file}: ${key ? `${key}: ` : ''}${problem}`);
  }
}

export class RegistryError extends LinkwatchError {
  override readonly name = 'RegistryError';
  readonly code = 'LW_REGISTRY';
  constructor(readonly file: string, readonly line: number | undefined, message: string) {
    super(`${file}${line ? `:${line}` : ''}: ${message}`);
  }
}

export class MaintenanceError extends LinkwatchError {
  override readonly name = 'MaintenanceError';
  readonly code = 'LW_MAINTENANCE';
}

export class CredentialsError extends LinkwatchError {
  override readonly name = 'CredentialsError';
  readonly code = 'LW_CREDENTIALS';
}

/** A failure `linkwatch status` reports with exit code 2. */
export class StatusError extends LinkwatchError {
  override readonly name = 'StatusError';
  readonly code = 'LW_STATUS';
}

/** Reasons a message is refused by the collector; each is counted and kept in the dead letters. */
export const REJECT_REASONS = [
  'bad_topic', 'too_large', 'bad_encoding', 'bad_json', 'schema', 'station_mismatch', 'unknown_station', 'stale_ts',
  'future_ts', 'influx_refused', 'overloaded',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

export class PayloadError extends LinkwatchError {
  override readonly name = 'PayloadError';
  readonly code = 'LW_PAYLOAD';
  constructor(readonly reason: Extract<RejectReason, 'too_large' | 'bad_encoding' | 'bad_json'>, message: string) {
    super(message);
  }
}

/** InfluxDB did not store a write: `status` is its HTTP status, absent when no answer came (network, timeout). */
export class InfluxWriteError extends LinkwatchError {
  override readonly name = 'InfluxWriteError';
  readonly code = 'LW_INFLUX_WRITE';
  constructor(readonly status: number | undefined, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
