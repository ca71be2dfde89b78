/**
 * A parser of `ping` output that reads numbers, not words, so it works on Linux iputils, busybox and Windows
 * ping.exe in any display language and OEM code page (research/peers.md, lesson 1). Pure.
 *
 * The caller decodes the child's bytes as latin1: every byte maps to one character, so CP866, CP932 or CP950 text
 * turns into harmless noise while the ASCII digits, `=`, `<`, `:` and `TTL=` stay intact (no East Asian lead/trail
 * byte falls in 0x30–0x3D).
 */
export interface PingOutput {
  /** Echo requests sent, from the statistics block; undefined when there is none (killed, bad option). */
  transmitted?: number;
  /** Round-trip times (ms) of the echo replies, in the order printed. Duplicates are not counted. */
  rtts: number[];
  /** Lines naming another host than the target without being a reply: ICMP unreachable or TTL exceeded. */
  icmpErrors: number;
  /** Whether ping got as far as printing its header or statistics (else the output is an error message). */
  started: boolean;
  /** The first non-empty line, for a failure's detail. */
  firstLine: string;
}

/** Decodes a child's output bytes; latin1 never fails and keeps every ASCII byte where it was. */
export const decodePingBytes = (buf: Buffer): string => buf.toString('latin1');

// `TTL=55` (Windows) or `ttl=64` (iputils, busybox), a token of its own.
const TTL = /(^|[\s:])ttl=\d+/i;
// `time=0.039`, `time=564ms`, `temps<1ms`, `время=37мс`, `時間 =7ms`: a value after `=` or `<`.
const VALUE = /([=<])\s*(\d+(?:[.,]\d+)?)/g;
// An IPv6 reply of ping.exe carries no TTL: `Antwort von 2a00:1450::2003: Zeit=11ms` — an address, a colon, then
// exactly one `word=value` token up to the end of the line.
const V6_REPLY = /[0-9a-f]*:[0-9a-f:]*:[0-9a-f]*(?:%\w+)?\s*:\s+[^\s=<]+\s*[=<]\s*\d+(?:[.,]\d+)?\s*[^\s=<]*\s*$/i;
const IPV4 = /\b(?:\d{1,3}\.){3}\d{1,3}\b/g;
const LINUX_SUMMARY_HEADER = /^---.*---\s*$/;

const toNumber = (s: string) => Number(s.replace(',', '.'));

/** RTT of a reply line: the last `=`/`<` value once the TTL token is removed. `<1` (Windows, under 1 ms) is 0.5. */
function replyRtt(line: string): number | undefined {
  const values = [...line.replace(TTL, '$1').matchAll(VALUE)];
  const last = values[values.length - 1];
  if (!last) return undefined;
  const v = toNumber(last[2]!);
  return last[1] === '<' ? v / 2 : v;
}

function isReply(line: string): boolean {
  // iputils and busybox mark a duplicated reply; it answers an echo already counted.
  if (line.includes('DUP!')) return false;
  return TTL.test(line) || V6_REPLY.test(line);
}

/**
 * Windows: the statistics line is the first one holding three `= n` numbers with sent = received + lost. Its words
 * are localised, its arithmetic is not. (Its "received" also counts unreachable replies, so it is not used.)
 */
function windowsTransmitted(line: string): number | undefined {
  const n = [...line.matchAll(/=\s*(\d+)/g)].map((m) => Number(m[1]));
  if (n.length >= 3 && n[0] === n[1]! + n[2]!) return n[0];
  return undefined;
}

/** Parses one run of `ping`; `target` (the address pinged) tells ICMP errors from other routers apart. */
export function parsePingOutput(text: string, target?: string): PingOutput {
  const lines = text.split(/\r?\n|\r/).map((l) => l.trimEnd());
  const rtts: number[] = [];
  let transmitted: number | undefined;
  let icmpErrors = 0;
  let started = false;
  let afterLinuxHeader = false;
  for (const line of lines) {
    if (line.trim() === '') continue;
    if (isReply(line)) {
      const rtt = replyRtt(line);
      if (rtt !== undefined) rtts.push(rtt);
      started = true;
      continue;
    }
    if (LINUX_SUMMARY_HEADER.test(line)) {
      afterLinuxHeader = true;
      started = true;
      continue;
    }
    if (afterLinuxHeader) {
      // `5 packets transmitted, 5 received, …`: the first number is what was sent.
      const first = /\d+/.exec(line);
      if (first && transmitted === undefined) transmitted = Number(first[0]);
      afterLinuxHeader = false;
      continue;
    }
    if (transmitted === undefined) {
      const win = windowsTransmitted(line);
      if (win !== undefined) {
        transmitted = win;
        started = true;
        continue;
      }
    }
    if (target !== undefined) {
      const addrs = line.match(IPV4) ?? [];
      if (line.includes(target)) started = true;
      else if (addrs.length > 0) icmpErrors++;
    }
  }
  const firstLine = lines.find((l) => l.trim() !== '')?.trim() ?? '';
  return { ...(transmitted === undefined ? {} : { transmitted }), rtts, icmpErrors, started, firstLine };
}
