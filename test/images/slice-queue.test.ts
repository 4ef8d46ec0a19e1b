import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { endingOnItsTurn, nextSlice } from '../../src/images/slice-queue.js';

// Counts turns of the event loop: one tick per turn (an immediate scheduled from an immediate
// runs in the next turn).
function turnCounter(): { now: () => number; stop: () => void } {
  let turn = 0;
  let ticking = true;
  const tick = () => {
    turn++;
    if (ticking) setImmediate(tick);
  };
  setImmediate(tick);
  return { now: () => turn, stop: () => (ticking = false) };
}

describe('nextSlice', () => {
  it('resumes one waiting request per turn of the event loop, in turn, however many wait', async () => {
    const turns = turnCounter();
    const resumed: Array<{ request: string; turn: number }> = [];
    const request = async (name: string) => {
      for (let slice = 0; slice < 3; slice++) {
        await nextSlice();
        resumed.push({ request: name, turn: turns.now() });
      }
    };
    await Promise.all(['a', 'b', 'c', 'd'].map(request));
    turns.stop();
    expect(resumed.map((r) => r.request).join('')).toBe('abcdabcdabcd');
    const at = resumed.map((r) => r.turn);
    expect(new Set(at).size).toBe(12);
    for (let i = 1; i < at.length; i++) expect(at[i]).toBeGreaterThan(at[i - 1]);
  });
});

describe('endingOnItsTurn', () => {
  it('passes every byte through, and bodies that arrive together end in different turns', async () => {
    const turns = turnCounter();
    const bodies = ['a', 'b', 'c'].map((name) => {
      const source = new PassThrough();
      const gated = endingOnItsTurn(source);
      const chunks: Buffer[] = [];
      gated.on('data', (chunk: Buffer) => chunks.push(chunk));
      const ended = once(gated, 'end').then(() => ({ text: Buffer.concat(chunks).toString(), turn: turns.now() }));
      source.end(`${name}`.repeat(100_000));
      return ended;
    });
    const ended = await Promise.all(bodies);
    turns.stop();
    expect(ended.map((body) => body.text)).toEqual(['a', 'b', 'c'].map((name) => name.repeat(100_000)));
    expect(new Set(ended.map((body) => body.turn)).size).toBe(3);
  });

  it('fails when the client goes away mid-body', async () => {
    const source = new PassThrough();
    const gated = endingOnItsTurn(source);
    gated.resume();
    const failed = once(gated, 'error');
    source.write('half a body');
    source.destroy(new Error('aborted'));
    expect((await failed)[0].message).toBe('aborted');
  });
});
