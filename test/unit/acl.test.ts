import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { filterCovers, isAllowed, mosquittoAcl, parsePasswordFile, passwordLine, verifyPassword, type Action } from '../../collector/auth.js';

const policy = { collectors: new Set(['collector', 'collector-2']) };

/** [username, action, topic, allowed]: the one table both brokers are also tested against. */
export const ACL_CASES: Array<[string | undefined, Action, string, boolean]> = [
  ['st-a', 'publish', 'linkwatch/v1/st-a/report', true],
  ['st-a', 'publish', 'linkwatch/v1/st-a/status', true],
  ['st-a', 'publish', 'linkwatch/v1/st-a/event', true],
  ['st-a', 'publish', 'linkwatch/v1/st-b/report', false],
  ['st-a', 'publish', 'linkwatch/v1/st-b/status', false],
  ['st-a', 'publish', 'linkwatch/v1/st-a/ack', false],
  ['st-a', 'publish', 'linkwatch/v1/st-b/ack', false],
  ['st-a', 'publish', 'linkwatch/v1/st-a/report/x', false],
  ['st-a', 'publish', 'linkwatch/v1/st-a', false],
  ['st-a', 'publish', '$SYS/broker/x', false],
  ['st-a', 'subscribe', 'linkwatch/v1/st-a/ack', true],
  ['st-a', 'subscribe', 'linkwatch/v1/st-b/ack', false],
  ['st-a', 'subscribe', 'linkwatch/v1/+/ack', false],
  ['st-a', 'subscribe', 'linkwatch/v1/#', false],
  ['st-a', 'subscribe', '#', false],
  ['st-a', 'subscribe', 'linkwatch/v1/st-b/report', false],
  ['st-a', 'subscribe', '$share/linkwatch/linkwatch/v1/+/report', false],
  ['collector', 'subscribe', 'linkwatch/v1/+/report', true],
  ['collector', 'subscribe', '$share/linkwatch/linkwatch/v1/+/report', true],
  ['collector', 'subscribe', 'linkwatch/v1/+/status', true],
  ['collector', 'subscribe', 'linkwatch/v1/+/event', true],
  ['collector', 'subscribe', 'linkwatch/v1/st-a/report', true],
  ['collector', 'subscribe', 'linkwatch/v1/+/ack', false],
  ['collector', 'subscribe', 'linkwatch/v1/#', false],
  ['collector', 'subscribe', '#', false],
  ['collector', 'publish', 'linkwatch/v1/st-a/ack', true],
  ['collector', 'publish', 'linkwatch/v1/st-a/report', false],
  ['collector-2', 'publish', 'linkwatch/v1/st-b/ack', true],
  [undefined, 'publish', 'linkwatch/v1/st-a/report', false],
  ['', 'subscribe', 'linkwatch/v1//ack', false],
  ['+', 'subscribe', 'linkwatch/v1/+/ack', false],
  ['#', 'publish', 'linkwatch/v1/#/report', false],
  ['a/b', 'publish', 'linkwatch/v1/a/b/report', false],
  ['ST-A', 'publish', 'linkwatch/v1/ST-A/report', false],
];

describe('isAllowed: the broker ACL', () => {
  it.each(ACL_CASES)('%j %s %s → %s', (user, action, topic, allowed) => {
    expect(isAllowed(user, action, topic, policy)).toBe(allowed);
  });
});

describe('filterCovers', () => {
  it.each([
    ['a/+/c', 'a/b/c', true],
    ['a/+/c', 'a/+/c', true],
    ['a/+/c', 'a/#', false],
    ['a/b/c', 'a/+/c', false],
    ['a/#', 'a', true],
    ['a/#', 'a/b/c', true],
    ['a/#', 'a/+/#', true],
    ['a/b', 'a/b/c', false],
    ['a/b/c', 'a/b', false],
    ['+', '', false],
  ])('%s covers %s: %s', (acl, filter, want) => {
    expect(filterCovers(acl, filter)).toBe(want);
  });
});

describe('mosquitto ACL file', () => {
  it('deploy/mosquitto/acl is the rendering of the one ACL', () => {
    expect(readFileSync(new URL('../../deploy/mosquitto/acl', import.meta.url), 'utf8')).toBe(mosquittoAcl());
  });

  it('grants stations only their own topics through %u patterns', () => {
    const acl = mosquittoAcl(['collector']);
    expect(acl).toMatch(/^pattern write linkwatch\/v1\/%u\/report$/m);
    expect(acl).toMatch(/^pattern read linkwatch\/v1\/%u\/ack$/m);
    expect(acl).not.toMatch(/^pattern .*#/m);
    expect(acl).not.toMatch(/^topic (read|write|readwrite) #$/m);
  });

  it('refuses a collector name that would break the file', () => {
    expect(() => mosquittoAcl(['a b\ntopic readwrite #'])).toThrow(/must match/);
  });
});

describe('password entries', () => {
  it('verifies the right password only, in mosquitto $7$ format', () => {
    const line = passwordLine('st-a', 'correct horse');
    expect(line).toMatch(/^st-a:\$7\$101\$[A-Za-z0-9+/=]{16}\$[A-Za-z0-9+/=]{88}$/);
    const e = parsePasswordFile(`# comment\n${line}\n`).get('st-a');
    expect(verifyPassword(e, 'correct horse')).toBe(true);
    expect(verifyPassword(e, 'correct horsE')).toBe(false);
    expect(verifyPassword(e, '')).toBe(false);
    expect(verifyPassword(e, undefined)).toBe(false);
    expect(verifyPassword(undefined, 'x')).toBe(false);
    expect(verifyPassword('$7$101$AAAA$short', 'x')).toBe(false);
    expect(verifyPassword('plaintext', 'plaintext')).toBe(false);
  });

  it('reads a mosquitto_passwd entry', () => {
    const e = 'alice:$7$101$CUUeZvAlQPy6NFWG$S3KziJTlycWqkp3F+H2e/13xxF1zTj/004GbgV0qtqgllSdyw7N6hbJoCdotOCxHYS+24eMnaAkS3Losqsro+w==';
    expect(verifyPassword(parsePasswordFile(e).get('alice'), 's3cret')).toBe(true);
  });
});
