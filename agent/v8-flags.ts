import { setFlagsFromString } from 'node:v8';

/**
 * V8 settings for the agent's own process, which works about a second in every interval and waits the rest. Both are
 * read by V8 when it next decides, so they take effect when set at run time; call this first thing, before the agent's
 * modules are loaded (loading them is the busiest second of its life), and once, from the agent's own process only:
 * `linkwatch agent` and the single-file executable (docs/performance.md, "Agent footprint"). This module imports
 * nothing else for that reason.
 *  - `--semi-space-growth-factor=1` keeps the young generation at its starting size. V8 doubles the semi-spaces (up
 *    to 16 MB each on 64-bit) whenever a scavenge finds it busy; the agent's short bursts of work each interval (probe
 *    output, JSON, SQLite) grew it to 33.6 MB of new space and about 10 MB of resident memory it never gives back. The
 *    agent allocates a few MB per cycle and keeps little, so 1 MB semi-spaces cost a few more, cheap, scavenges.
 *  - `--max-opt=1` stops tiering up at Sparkplug, V8's baseline compiler: no Turbofan (nor Maglev on Node 22). Loading
 *    the npm agent's ~150 ES modules made Turbofan compile Node's module loader, and what that left stayed: without it
 *    the agent's RSS is about 10 MB lower (RssAnon 6.6, and RssFile 3.8 since the pages of the `node` binary that hold
 *    Turbofan are never touched) and its start-up peak 20 MB lower, for code that runs a few times a minute and no
 *    more CPU (its heavy work, SQLite, zlib, JSON and sockets, is native).
 */
export function setAgentV8Flags(): void {
  setFlagsFromString('--semi-space-growth-factor=1');
  setFlagsFromString('--max-opt=1');
}
