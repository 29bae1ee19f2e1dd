import { storable } from './storable-text';

describe('storable', () => {
  it('replaces NUL and unpaired surrogates with U+FFFD, in values and keys, at any depth', () => {
    const input = { text: 'a\u0000b', ['k\u0000']: ['\uD800x', 'y\uDC00', { deep: '\uDBFF' }], ok: 'pair \uD83D\uDE00 kept' };
    expect(storable(input)).toEqual({ text: 'a\uFFFDb', ['k\uFFFD']: ['\uFFFDx', 'y\uFFFD', { deep: '\uFFFD' }], ok: 'pair \uD83D\uDE00 kept' });
  });

  it('keeps what is not a string, an array or a plain object', () => {
    const content = Buffer.from([0, 1, 2]);
    const at = new Date(0);
    const out = storable({ content, at, n: 1, none: null });
    expect(out.content).toBe(content);
    expect(out.at).toBe(at);
    expect(out).toMatchObject({ n: 1, none: null });
  });

  it('gives a string that JSON and PostgreSQL jsonb both accept', () => {
    expect(JSON.stringify(storable('\u0000\uD800'))).toBe('"\uFFFD\uFFFD"');
  });
});
