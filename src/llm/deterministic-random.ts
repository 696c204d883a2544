/**
 * Seeded randomness for the offline model: the same seed always gives the same sequence, so the
 * same prompt always gives the same output, and any change to the prompt moves every choice.
 */
import { createHash } from 'node:crypto';

/** 32-bit FNV-1a hash of a string. Fast and well spread for short keys. */
export function hash32(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index += 1) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** Hex SHA-256, for content addressing. */
export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [min, max] (inclusive). */
  integer(min: number, max: number): number;
  pick<Item>(items: readonly Item[]): Item;
  shuffle<Item>(items: readonly Item[]): Item[];
}

/** mulberry32: a tiny generator with a full 2^32 period, plenty for choosing words. */
export function createRandom(seed: number | string): Random {
  let state = typeof seed === 'string' ? hash32(seed) : seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
  const integer = (min: number, max: number): number => (max <= min ? min : min + Math.floor(next() * (max - min + 1)));
  return {
    next,
    integer,
    pick: <Item>(items: readonly Item[]): Item => {
      if (items.length === 0) throw new Error('pick() from an empty list');
      return items[integer(0, items.length - 1)] as Item;
    },
    shuffle: <Item>(items: readonly Item[]): Item[] => {
      const copy = [...items];
      for (let index = copy.length - 1; index > 0; index -= 1) {
        const other = integer(0, index);
        [copy[index], copy[other]] = [copy[other] as Item, copy[index] as Item];
      }
      return copy;
    },
  };
}
