import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { z } from 'zod';
import { parseBytes as parseBytesStrict, parseDuration as parseDurationStrict } from './units.js';
import { ConfigError } from './errors.js';

/** A configuration that cannot be used; `key` names the offending key as a dotted path. */
export { ConfigError };

/** Formats a zod issue path the way a person writes it in YAML: `targets[1].port`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out;
}

/** Validates parsed data against a schema; the first issue becomes a ConfigError naming its key. */
export function parseConfig<S extends z.ZodType>(file: string, data: unknown, schema: S): z.output<S> {
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  let key = formatPath(issue.path);
  let problem = issue.message;
  if (issue.code === 'unrecognized_keys') {
    key = formatPath([...issue.path, issue.keys[0]!]);
    problem = 'unknown key';
  }
  return raise(file, key, problem);
}

function raise(file: string, key: string, problem: string): never {
  throw new ConfigError(file, key, problem);
}

/** Reads a YAML (or JSON, which is YAML) config file and validates it. No network I/O happens here. */
export function loadConfigFile<S extends z.ZodType>(file: string, schema: S): z.output<S> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, '', `cannot read: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    data = YAML.parse(text, { prettyErrors: true });
  } catch (err) {
    throw new ConfigError(file, '', `not valid YAML/JSON: ${(err as Error).message.split('\n')[0]}`);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigError(file, '', 'expected a mapping of keys at the top level');
  }
  return parseConfig(file, data, schema);
}

/** A zod duration field: `10s`, `500ms`, or a number of seconds; parsed to milliseconds. */
export const durationMs = z.union([z.string(), z.number()]).transform((v, ctx) => {
  try {
    return parseDurationStrict(v);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

/** A zod size field: `256MB`, `64KiB`, or a number of bytes; parsed to bytes. */
export const sizeBytes = z.union([z.string(), z.number()]).transform((v, ctx) => {
  try {
    return parseBytesStrict(v);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

