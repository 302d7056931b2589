import { describe, expect, it } from 'vitest';
import { uniqueName } from './deliver.js';
import { compareDelivery } from './maildir.js';

describe('Maildir names keep delivery order', () => {
  it('names made in one millisecond sort by compareDelivery in the order they were made', () => {
    const at = Date.UTC(2027, 0, 15, 9, 30, 5, 123);
    const names = Array.from({ length: 200 }, () => uniqueName(at));
    expect([...names].sort(compareDelivery)).toEqual(names);
    expect(new Set(names.map((n) => n.split('.')[1]!.replace(/P.*/, ''))).size).toBe(200);
  });

  it('names across a second boundary, and M parts of different widths, still sort by time', () => {
    const names = [uniqueName(Date.UTC(2027, 0, 15, 9, 30, 5, 999)), uniqueName(Date.UTC(2027, 0, 15, 9, 30, 6, 0)), uniqueName(Date.UTC(2027, 0, 15, 9, 30, 6, 5))];
    expect([...names].reverse().sort(compareDelivery)).toEqual(names);
    // The plain string sort would not: M<usec> has no fixed width.
    expect(compareDelivery('100.M99999P1Q1.h', '100.M100000P1Q2.h')).toBeLessThan(0);
  });
});
