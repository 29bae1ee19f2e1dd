import { nestsDeeperThan } from './nesting-depth';

const nested = (levels: number, leaf: unknown = 1): unknown => {
  let value = leaf;
  for (let i = 0; i < levels; i++) value = i % 2 ? [value] : { a: value };
  return value;
};

describe('nestsDeeperThan', () => {
  it('counts objects and arrays as levels, and scalars as none', () => {
    expect(nestsDeeperThan('text', 0)).toBe(false);
    expect(nestsDeeperThan({}, 0)).toBe(true);
    expect(nestsDeeperThan({}, 1)).toBe(false);
    expect(nestsDeeperThan(nested(64), 64)).toBe(false);
    expect(nestsDeeperThan(nested(65), 64)).toBe(true);
  });

  it('finds the deep branch beside shallow ones', () => {
    expect(nestsDeeperThan({ a: 1, b: [1, 2], c: { d: nested(10) } }, 11)).toBe(true);
    expect(nestsDeeperThan({ a: 1, b: [1, 2], c: { d: nested(10) } }, 12)).toBe(false);
  });

  it('walks a value far deeper than the call stack would allow recursion', () => {
    expect(nestsDeeperThan(JSON.parse('['.repeat(200_000) + ']'.repeat(200_000)), 64)).toBe(true);
  });
});
