import { randomBytes } from 'node:crypto';
import { SecretCipher } from './secret-cipher';

describe('SecretCipher', () => {
  const cipher = new SecretCipher(randomBytes(32));

  it('round-trips a secret without leaving it readable', () => {
    const sealed = cipher.encrypt('p@ssw0rd');
    expect(sealed).not.toContain('p@ssw0rd');
    expect(cipher.decrypt(sealed)).toBe('p@ssw0rd');
  });

  it('uses a fresh IV each time', () => {
    expect(cipher.encrypt('same')).not.toBe(cipher.encrypt('same'));
  });

  it('refuses a tampered ciphertext', () => {
    const parts = cipher.encrypt('secret').split('.');
    parts[3] = Buffer.from('other').toString('base64url');
    expect(() => cipher.decrypt(parts.join('.'))).toThrow();
  });

  it('refuses another key', () => {
    expect(() => new SecretCipher(randomBytes(32)).decrypt(cipher.encrypt('x'))).toThrow();
  });
});
