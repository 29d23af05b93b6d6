import { describe, expect, it } from 'vitest';
import { COLLECTION_SIZE, DATASET_TYPES, datasetCommand, datasetType } from './verify-dataset';

describe('dataset', () => {
  it('cycles through every type, one key in five each', () => {
    const types = Array.from({ length: 10 }, (_, i) => datasetType(i));
    expect(types.slice(0, 5)).toEqual([...DATASET_TYPES]);
    expect(types.slice(5)).toEqual([...DATASET_TYPES]);
  });

  it('creates each key with the command of its type and collections of the documented size', () => {
    expect(datasetCommand('p:', 0)[0]).toBe('set');
    const hset = datasetCommand('p:', 1);
    expect(hset.slice(0, 2)).toEqual(['hset', 'p:1']);
    expect(hset.length - 2).toBe(COLLECTION_SIZE * 2);
    expect(datasetCommand('p:', 2).length - 2).toBe(COLLECTION_SIZE);
    expect(datasetCommand('p:', 3)[0]).toBe('sadd');
    const zadd = datasetCommand('p:', 4);
    expect(zadd[0]).toBe('zadd');
    expect(zadd.length - 2).toBe(COLLECTION_SIZE * 2);
  });
});
