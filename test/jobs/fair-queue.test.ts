import { describe, expect, it } from 'vitest';
import { FairQueue } from '../../src/jobs/fair-queue.js';

// Starts every job in the queue, one at a time: their ids in the order they start.
const drain = (queue: FairQueue) => {
  const started = [];
  for (let id = queue.shift(); id !== undefined; id = queue.shift()) started.push(id);
  return started;
};

describe('the fair queue', () => {
  it('starts a newcomer\'s job next, not after the 19 another tenant queued first', () => {
    const queue = new FairQueue();
    for (let i = 1; i <= 20; i++) queue.push(`a${i}`, 'a');
    expect(queue.shift()).toBe('a1');
    queue.push('b1', 'b');
    expect(queue.shift()).toBe('b1');
    expect(drain(queue)).toEqual(Array.from({ length: 19 }, (_, i) => `a${i + 2}`));
  });

  it('takes tenants in turn, each in the order it queued, however they arrived', () => {
    const queue = new FairQueue();
    for (const [id, tenant] of [['a1', 'a'], ['a2', 'a'], ['a3', 'a'], ['b1', 'b'], ['b2', 'b'], ['c1', 'c']]) queue.push(id, tenant);
    expect(drain(queue)).toEqual(['a1', 'b1', 'c1', 'a2', 'b2', 'a3']);
  });

  it('forgets a cancelled job, and starts from 1 again after a restart', () => {
    const queue = new FairQueue();
    queue.push('a1', 'a');
    queue.push('a2', 'a');
    expect(queue.remove('a1')).toBe(true);
    expect(queue.remove('a1')).toBe(false);
    expect(queue.length).toBe(1);
    expect(drain(queue)).toEqual(['a2']);
    queue.restart();
    expect(queue.push('b1', 'b')).toBe(1);
    expect(queue.push('a3', 'a')).toBe(1);
    expect(drain(queue)).toEqual(['b1', 'a3']);
  });
});
