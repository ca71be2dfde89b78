/**
 * The sequence-number ranges of an ack (collector/acks.ts `rangesJson`), read back as the agent reads them
 * (protocol/report.ts `ackMessage` and `fromRanges`): the agent deletes exactly what an ack names.
 */
import { describe, expect, it } from 'vitest';
import { rangesJson } from '../../collector/acks.js';
import { ackMessage, fromRanges } from '../../protocol/report.js';

describe('ack ranges', () => {
  it.each([
    [[7], '[[7,7]]'],
    [[1, 2, 3, 7], '[[1,3],[7,7]]'],
    [[7, 3, 1, 2], '[[1,3],[7,7]]'],
    [[5, 5, 6, 6, 9], '[[5,6],[9,9]]'],
    [[0, 2, 4], '[[0,0],[2,2],[4,4]]'],
  ])('writes %j as %s', (seqs, json) => expect(rangesJson([...seqs])).toBe(json));

  it('names exactly the sequence numbers it was given, whatever their order and repeats', () => {
    let a = 12_345;
    const rnd = () => ((a = (a * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648);
    for (let i = 0; i < 500; i++) {
      const seqs = Array.from({ length: 1 + Math.floor(rnd() * 20) }, () => Math.floor(rnd() * 40));
      const want = [...new Set(seqs)].sort((x, y) => x - y);
      const ack = ackMessage.parse(JSON.parse(`{"v":1,"stored":${rangesJson([...seqs])}}`));
      expect(fromRanges(ack.stored)).toEqual(want);
    }
  });
});
