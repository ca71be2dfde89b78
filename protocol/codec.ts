import { deflateSync, inflateSync } from 'node:zlib';
import { PayloadError } from '../lib/errors.js';

/**
 * Wire encoding of report payloads. Plain JSON (a report, or an array of them when backfilling) is always accepted.
 * A payload may also be zlib-deflated with the v1 preset dictionary below: a zlib stream starts with 0x78, which no
 * JSON text does, so the collector tells the two apart by the first byte (MQTT 3.1.1 has no content-type property).
 * The dictionary holds the keys and values every report repeats, so even a single small report shrinks by half.
 * It is part of protocol v1: never change it, add a v2 dictionary instead.
 */
export const DICTIONARY_V1 = Buffer.from(
  '"clock":{"offset_ms":},"outbox":{"depth":,"dropped":},"host":{"cpu_pct":,"mem_used_pct":,"disk_free_bytes":,' +
    '"uptime_s":,"iface":"eth0","iface_up":true},"backlog":[{"source":"","pending":,"oldest_age_s":}],' +
    '"sessions":[{"name":"","up":true,"drops":0,"down_ms":0}],"status":200,"phases":{"dns_ms":,"connect_ms":,' +
    '"tls_ms":,"ttfb_ms":},"error":"timeout","kind":"tcp","kind":"http","kind":"icmp","role":"service",' +
    '"role":"core","role":"isp","role":"gateway","ok":true,"sent":5,"received":5,"loss":0,"rtt_min_ms":,' +
    '"rtt_avg_ms":,"rtt_max_ms":,"rtt_p95_ms":,"jitter_ms":},{"target":"","probes":[{"target":"',
  'utf8',
);
// A header byte of 0x78 (deflate, 32K window) marks a compressed payload.
const ZLIB_CMF = 0x78;

export type Encoding = 'json' | 'deflate';

/** Encodes one report or a batch of them. */
export function encodePayload(value: unknown, encoding: Encoding = 'json'): Buffer {
  return encodeJsonText(JSON.stringify(value), encoding);
}

/** Encodes JSON text that is already serialised (the outbox stores reports as text). */
export function encodeJsonText(json: string, encoding: Encoding = 'json'): Buffer {
  const buf = Buffer.from(json, 'utf8');
  return encoding === 'json' ? buf : deflateSync(buf, { dictionary: DICTIONARY_V1, level: 9 });
}

/** Decodes a payload to a JSON value; throws PayloadError naming the reason. `maxBytes` bounds the inflated size. */
export function decodePayload(buf: Buffer, maxBytes: number): unknown {
  if (buf.length > maxBytes) throw new PayloadError('too_large', `payload of ${buf.length} bytes exceeds ${maxBytes}`);
  let text: string;
  if (buf[0] === ZLIB_CMF) {
    let raw: Buffer;
    try {
      raw = inflateSync(buf, { dictionary: DICTIONARY_V1, maxOutputLength: maxBytes });
    } catch (err) {
      const message = (err as Error).message;
      // Node reports maxOutputLength as ERR_BUFFER_TOO_LARGE ("Cannot create a Buffer larger than N bytes").
      if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || /maxOutputLength|buffer length/i.test(message)) {
        throw new PayloadError('too_large', `inflated payload exceeds ${maxBytes} bytes`);
      }
      throw new PayloadError('bad_encoding', `cannot inflate payload: ${message}`);
    }
    text = raw.toString('utf8');
  } else {
    text = buf.toString('utf8');
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new PayloadError('bad_json', `not JSON: ${(err as Error).message}`);
  }
}
