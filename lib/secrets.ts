import { readFileSync, statSync } from 'node:fs';
import { ConfigError } from './errors.js';
import type { Logger } from './log.js';

/**
 * Reads a secret from `file` (trimmed) or, when no file is named, from the environment variable `envName`.
 * A file that other users can read is used but warned about. The value is never logged.
 */
export function readSecret(opts: {
  file: string | undefined;
  envName: string;
  key: string;
  configFile: string;
  log?: Logger;
}): string | undefined {
  if (!opts.file) return process.env[opts.envName] || undefined;
  let text: string;
  try {
    text = readFileSync(opts.file, 'utf8');
  } catch (err) {
    throw new ConfigError(opts.configFile, opts.key, `cannot read secret file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  // POSIX permission bits mean nothing on Windows (NTFS ACLs), so only check them elsewhere.
  if (process.platform !== 'win32') {
    const mode = statSync(opts.file).mode;
    if (mode & 0o077) {
      opts.log?.warn({ key: opts.key, file: opts.file, mode: (mode & 0o777).toString(8) }, 'secret file is readable by other users; chmod 600 it');
    }
  }
  const secret = text.trim();
  if (!secret) throw new ConfigError(opts.configFile, opts.key, 'secret file is empty');
  return secret;
}
