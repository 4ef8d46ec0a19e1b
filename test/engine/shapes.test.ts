import { describe, expect, it } from 'vitest';
import { addRowVector } from '../../src/engine/ops/add.js';
import { argmax } from '../../src/engine/ops/argmax.js';
import { crossEntropy } from '../../src/engine/ops/cross-entropy.js';
import { matmul } from '../../src/engine/ops/matmul.js';
import { sum } from '../../src/engine/ops/sum.js';
import { ShapeError, tensor, toArray, zeros } from '../../src/engine/ops/tensor.js';

describe('shapes', () => {
  it('matmul multiplies [n,k]·[k,m] and names both shapes when they do not fit', () => {
    expect(toArray(matmul(tensor([[1, 2], [3, 4]]), tensor([[5], [6]])))).toEqual([[17], [39]]);
    expect(() => matmul(zeros([2, 3]), zeros([4, 5]))).toThrow(ShapeError);
    expect(() => matmul(zeros([2, 3]), zeros([4, 5]))).toThrow(/\[2,3\].*\[4,5\]/);
    expect(() => matmul(zeros([3]), zeros([3, 1]))).toThrow(/rank 2.*\[3\]/);
  });

  it('broadcasts a row vector over every row, and refuses what does not broadcast', () => {
    expect(toArray(addRowVector(tensor([[1, 2], [3, 4]]), tensor([10, 20])))).toEqual([[11, 22], [13, 24]]);
    expect(toArray(addRowVector(tensor([[1, 2]]), tensor([[10, 20]])))).toEqual([[11, 22]]);
    expect(() => addRowVector(zeros([2, 3]), zeros([2]))).toThrow(/\[2\].*\[2,3\]/);
  });

  it('checks labels against the rows and classes they index', () => {
    expect(() => crossEntropy(zeros([2, 3]), [0])).toThrow(/1 labels.*\[2,3\]/);
    expect(() => crossEntropy(zeros([2, 3]), [0, 3])).toThrow(/label 3 at row 1/);
    expect(() => sum(zeros([2, 2, 2]), 0)).toThrow(/\[2,2,2\]/);
  });

  it('argmax takes the first of equal maxima, as PyTorch does', () => {
    expect(Array.from(argmax(tensor([[1, 3, 3], [2, 2, 2], [0, -1, 5]])))).toEqual([1, 0, 2]);
  });

  it('tensors live on their own thread\'s memory (never shared) and reject ragged input', () => {
    expect(zeros([2, 2]).data.buffer).not.toBeInstanceOf(SharedArrayBuffer);
    expect(() => tensor([[1, 2], [3]])).toThrow(ShapeError);
  });
});
