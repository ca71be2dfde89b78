import { mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backlogSchema, readBacklog, type BacklogConfig } from '../../agent/backlog.js';
import { close, httpServer, portOf } from '../helpers/probe-targets.js';
import type { Server } from 'node:http';

const parse = (c: object) => backlogSchema.parse(c) as BacklogConfig;
const read = (c: object, now = Date.now) => readBacklog([parse(c)], AbortSignal.timeout(20_000), now).then((r) => r[0]!);

describe('backlog sources', () => {
  it('dir: counts the waiting files, their bytes and the age of the oldest', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lw-backlog-'));
    const now = Date.parse('2026-11-22T10:00:00Z');
    const files = [
      ['HS_001.xml', 100, 3600],
      ['HS_002.xml', 250, 600],
      ['HS_003.xml', 50, 60],
      ['notes.txt', 9999, 99999],
    ] as const;
    for (const [name, size, ageS] of files) {
      writeFileSync(join(dir, name), Buffer.alloc(size));
      utimesSync(join(dir, name), (now - ageS * 1000) / 1000, (now - ageS * 1000) / 1000);
    }
    mkdirSync(join(dir, 'sub.xml')); // a folder is not a waiting record
    expect(await read({ name: 'outbox-dir', kind: 'dir', path: dir, pattern: '*.xml' }, () => now)).toEqual({ source: 'outbox-dir', pending: 3, bytes: 400, oldest_age_s: 3600 });
    expect(await read({ name: 'all', kind: 'dir', path: dir }, () => now)).toMatchObject({ pending: 4, bytes: 10399, oldest_age_s: 99999 });
  });

  it('dir: an empty folder is zero, a missing one is an error', async () => {
    expect(await read({ name: 'd', kind: 'dir', path: mkdtempSync(join(tmpdir(), 'lw-empty-')) })).toEqual({ source: 'd', pending: 0, bytes: 0 });
    const missing = await read({ name: 'd', kind: 'dir', path: join(tmpdir(), 'lw-no-such-dir-x') });
    expect(missing).toEqual({ source: 'd', error: expect.stringMatching(/^ENOENT/) });
  });

  describe('http', () => {
    let server: Server;
    let base: string;
    beforeAll(async () => {
      server = await httpServer((req, res) => {
        if (req.url === '/queue') res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: { pending: 137, oldest_s: 420 } }));
        else if (req.url === '/html') res.writeHead(200).end('<html>maintenance</html>');
        else if (req.url === '/slow') setTimeout(() => res.writeHead(200).end('{"pending":1}'), 2000);
        else res.writeHead(500).end('{}');
      });
      base = `http://127.0.0.1:${portOf(server)}`;
    });
    afterAll(() => close(server));

    it('reads the number at a JSON field path', async () => {
      expect(await read({ name: 'q', kind: 'http', url: `${base}/queue`, field: 'data.pending', age_field: 'data.oldest_s' })).toEqual({ source: 'q', pending: 137, oldest_age_s: 420 });
    });
    it.each([
      ['/queue', 'data.missing', /no field|not a count/],
      ['/html', 'pending', /not JSON/],
      ['/broken', 'pending', /HTTP 500/],
    ])('reports %s at %s as an error, never zero', async (path, field, re) => {
      const r = await read({ name: 'q', kind: 'http', url: `${base}${path}`, field });
      expect(r.pending).toBeUndefined();
      expect(r.error).toMatch(re);
    });
    it('reports a source slower than its timeout as an error', async () => {
      const r = await read({ name: 'q', kind: 'http', url: `${base}/slow`, field: 'pending', timeout: '200ms' });
      expect(r).toEqual({ source: 'q', error: 'no answer within 200 ms' });
    });
  });

  describe('command', () => {
    it('reads the number a command prints, through the platform shell', async () => {
      expect(await read({ name: 'c', kind: 'command', command: 'echo "pending: 58"' })).toEqual({ source: 'c', pending: 58 });
    });
    it('reports a failing command as an error even if it printed a number', async () => {
      const r = await read({ name: 'c', kind: 'command', command: 'echo 3; exit 4' });
      expect(r.pending).toBeUndefined();
      expect(r.error).toMatch(/^exit 4/);
    });
    it('reports output without a number as an error', async () => {
      expect((await read({ name: 'c', kind: 'command', command: 'echo unavailable' })).error).toMatch(/no number/);
    });
    it('kills a command that outlives its timeout, with what it started', async () => {
      const t0 = Date.now();
      const r = await read({ name: 'c', kind: 'command', command: 'sleep 5; echo 1', timeout: '200ms' });
      expect(r).toEqual({ source: 'c', error: 'killed after 200 ms' });
      expect(Date.now() - t0).toBeLessThan(1500);
    });
  });
});
