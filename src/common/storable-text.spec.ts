import { MAX_STORED_KEY_LENGTH, storable, storableKey } from './storable-text';

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

describe('storableKey', () => {
  it('keeps a key of up to the limit as it is, with the characters PostgreSQL refuses replaced', () => {
    const longest = 'k'.repeat(MAX_STORED_KEY_LENGTH);
    expect(storableKey(longest)).toBe(longest);
    expect(storableKey('idx:1\u0000')).toBe('idx:1\uFFFD');
  });

  it('keeps what it stores as it is within what a btree index row holds (2,704 bytes), whatever the characters', () => {
    for (const char of ['€', '\u{1F600}', 'a']) {
      const key = char.repeat(Math.floor(MAX_STORED_KEY_LENGTH / char.length));
      expect(storableKey(key)).toBe(key);
      expect(Buffer.byteLength(key)).toBeLessThan(2_704);
    }
  });

  it('replaces a longer key by its SHA-256 digest: the same key always the same, two keys two digests', () => {
    const long = 'x'.repeat(MAX_STORED_KEY_LENGTH + 1);
    const stored = storableKey(long);
    expect(stored).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(storableKey(long)).toBe(stored);
    expect(storableKey(long + 'y')).not.toBe(stored);
  });
});
