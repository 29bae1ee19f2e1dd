import { unstorableTextFields } from './unstorable-text';

describe('unstorableTextFields', () => {
  it('names each string and key PostgreSQL would refuse, by its path', () => {
    const body = {
      fine: 'text with a pair \ud83d\ude00',
      user: { name: 'a\u0000b' },
      history: [{ text: 'ok' }, { text: 'lone \udc00' }],
      attributes: { ['key\ud800']: 'v' },
      count: 3,
      none: null,
    };
    expect(unstorableTextFields(body)).toEqual([
      { field: 'user.name', message: 'has a NUL character or an unpaired UTF-16 surrogate, which cannot be stored' },
      { field: 'history.1.text', message: 'has a NUL character or an unpaired UTF-16 surrogate, which cannot be stored' },
      { field: 'attributes.key\ud800', message: 'its name has a NUL character or an unpaired UTF-16 surrogate, which cannot be stored' },
    ]);
  });

  it('prefixes a value read alone, and reports at most 20 fields', () => {
    expect(unstorableTextFields('a\u0000', 'domain')).toEqual([{ field: 'domain', message: expect.stringContaining('NUL') }]);
    expect(unstorableTextFields(Array.from({ length: 50 }, () => '\u0000'))).toHaveLength(20);
    expect(unstorableTextFields({ a: 'b', c: ['d'] })).toEqual([]);
  });
});
