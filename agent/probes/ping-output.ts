/**
 * A parser of `ping` output that reads numbers and layout, not words, so it works on Linux iputils, busybox, macOS
 * and Windows ping.exe in any display language and OEM code page: parsers that match words break on the first
 * non-English Windows (node-ping #80, #91). Pure.
 *
 * The caller decodes the child's bytes as latin1: every byte maps to one character, so CP866, CP932, CP936, CP950 or
 * CP1258 text turns into harmless noise while the ASCII digits, `=`, `<`, `(`, `%`, `:` and `TTL=` stay intact (no
 * East Asian lead/trail byte falls below 0x40, and UTF-8 continuation bytes are all ≥ 0x80).
 */
export interface PingOutput {
  /** Echo requests sent, from the statistics block; undefined when there is none (killed, bad option). */
  transmitted?: number;
  /** Round-trip times (ms) of the echo replies, in the order printed. Duplicates are not counted. */
  rtts: number[];
  /**
   * Lines that name a host without being an echo reply, a header or the statistics: ICMP errors such as
   * `Destination Host Unreachable` or `TTL expired in transit`, whoever sent them (a router, this host, or the target).
   */
  icmpErrors: number;
  /** Whether ping got as far as printing its header, a reply or statistics (else the output is an error message). */
  started: boolean;
  /**
   * What ping said went wrong, as lines: its own `ping: …` messages (iputils, busybox, macOS, Windows' `PING: transmit
   * failed`), or, when it never started, its first paragraph — every line of it, since iputils puts the line that
   * says what to do (`ping: => missing cap_net_raw+p capability or setuid?`) after two that do not.
   */
  message: string[];
}

/** Decodes a child's output bytes; latin1 never fails and keeps every ASCII byte where it was. */
export const decodePingBytes = (buf: Buffer): string => buf.toString('latin1');

/**
 * Turns a line of latin1-decoded output back into readable text for a log or a sample's `detail`: UTF-8 when the bytes
 * are UTF-8 (Linux, macOS), else the ASCII characters with each other byte shown as `?` (a Windows OEM code page,
 * which the agent does not know; the numbers never depend on it).
 */
export function readableLine(line: string): string {
  const bytes = Buffer.from(line, 'latin1');
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return line.replace(/[^\x20-\x7e]+/g, '?');
  }
}

// `TTL=55` (Windows), `ttl=64` (iputils, busybox, macOS) or `hlim=64` (macOS ping6), a token of its own.
const TTL = /(^|[\s:,])(?:ttl|hlim)=\d+/i;
// `time=0.039`, `time=564ms`, `temps<1ms`, `время=37мс`, `時間 =7ms`: a value after `=` or `<`.
const VALUE = /([=<])\s*(\d+(?:[.,]\d+)?)/g;
// A reply of ping.exe over IPv6 carries no TTL and puts the address anywhere among localised words:
// `Antwort von 2a00:1450::2003: Zeit=11ms`, `来自 ::1 的回复: 时间<1ms`, `2400:4153::d7ee からの応答: 時間 <1ms`.
// What they share: one `=`/`<` value on the line, at its end, followed by at most a unit.
const SOLE_FINAL_VALUE = /^[^=<]*[=<]\s*\d+(?:[.,]\d+)?\s*[^\s=<\d]*\s*$/;
const IPV4 = /(?:^|[^\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.]*\d)/;
// Two or more colons among hex groups: `::1`, `fe80::35e:6cf:fe79:ce%3`, `2a00:1450:4001:810::2003`.
const IPV6 = /(?:^|[^\w:])(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}(?:%\w+)?/i;
const LINUX_SUMMARY_HEADER = /^---.*---\s*$/;
// The tool's own messages: iputils, busybox and macOS prefix them with their name, ping.exe with `PING:`.
const TOOL_MESSAGE = /^ping6?:\s/i;
// iputils warns (clock went back, source address) and carries on; a warning does not say the run failed.
const TOOL_WARNING = /^ping6?:\s+warning\b/i;
// Windows statistics, one line or split over two (Italian, German, Polish, Russian): sent = n, received = n,
// lost = n, then `(n%` or `(perte n%` — the percentage sets it apart from the min/max/avg line.
const WINDOWS_STATS = /=\s*(\d+)[^=\d]*=\s*(\d+)[^=\d]*=\s*(\d+)\s*\([^()\d]*(\d+)\s*%/g;

const toNumber = (s: string) => Number(s.replace(',', '.'));
const hasAddress = (line: string) => IPV4.test(line) || IPV6.test(line);

/** RTT of a reply line: the last `=`/`<` value once the TTL token is removed. `<1` (Windows, under 1 ms) is 0.5. */
function replyRtt(line: string): number | undefined {
  const values = [...line.replace(TTL, '$1').matchAll(VALUE)];
  const last = values[values.length - 1];
  if (!last) return undefined;
  const v = toNumber(last[2]!);
  return last[1] === '<' ? v / 2 : v;
}

const indented = (line: string) => /^\s/.test(line);

function isReply(line: string): boolean {
  if (TTL.test(line)) return true;
  return !indented(line) && SOLE_FINAL_VALUE.test(line) && hasAddress(line);
}

/**
 * A line that names a host without being a reply: an ICMP error. Not one: a header (`PING …` on Unix; on Windows the
 * header and the statistics title end with `:`), indented lines (Windows statistics, the packet dumps macOS prints
 * after an error).
 */
function isIcmpError(line: string): boolean {
  if (indented(line) || /^PING/i.test(line) || /:\s*$/.test(line)) return false;
  return hasAddress(line);
}

/** The sent count of ping.exe's statistics: the first `= n … = n … = n (n%` with sent = received + lost. */
function windowsTransmitted(text: string): number | undefined {
  for (const m of text.matchAll(WINDOWS_STATS)) {
    const [sent, received, lost] = [Number(m[1]), Number(m[2]), Number(m[3])];
    if (sent === received + lost) return sent;
  }
  return undefined;
}

/** The first paragraph of the output: what a ping that never started said, every line of it. */
function firstParagraph(lines: readonly string[]): string[] {
  const start = lines.findIndex((l) => l.trim() !== '');
  if (start < 0) return [];
  const end = lines.findIndex((l, i) => i > start && l.trim() === '');
  return lines.slice(start, end < 0 ? undefined : end).map((l) => l.trim());
}

/** Parses one run of `ping`; `target` (the address pinged) tells whether ping got as far as naming it. */
export function parsePingOutput(text: string, target?: string): PingOutput {
  const lines = text.split(/\r?\n|\r/).map((l) => l.trimEnd());
  const rtts: number[] = [];
  const toolMessages: string[] = [];
  const rest: string[] = [];
  let transmitted: number | undefined;
  let icmpErrors = 0;
  let started = false;
  let afterLinuxHeader = false;
  for (const line of lines) {
    if (line.trim() === '') continue;
    // iputils, busybox and macOS mark a duplicated reply; it answers an echo already counted.
    if (line.includes('DUP!')) continue;
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
    if (TOOL_MESSAGE.test(line.trim())) {
      if (!TOOL_WARNING.test(line.trim())) toolMessages.push(line.trim());
      continue;
    }
    if (target !== undefined && line.includes(target)) started = true;
    if (isIcmpError(line)) icmpErrors++;
    rest.push(line);
  }
  if (transmitted === undefined) {
    // Its words are localised, its arithmetic is not. (Its "received" also counts unreachable replies, so it is not
    // used.) Lines are joined because some languages split the numbers from the percentage.
    transmitted = windowsTransmitted(rest.join(' '));
    if (transmitted !== undefined) started = true;
  }
  const message = started ? toolMessages : firstParagraph(lines);
  return { ...(transmitted === undefined ? {} : { transmitted }), rtts, icmpErrors, started, message };
}
