import { checkOutboundUrl } from './url-policy';

describe('checkOutboundUrl', () => {
  it('accepts public https URLs', () => {
    expect(checkOutboundUrl('https://gms.example.com/genesys', false)).toBeNull();
  });

  it('refuses cloud metadata and link-local addresses even when private networks are allowed', () => {
    expect(checkOutboundUrl('http://169.254.169.254/latest/meta-data', true)).toMatch(/link-local/);
    expect(checkOutboundUrl('http://metadata.google.internal/', true)).toMatch(/metadata/);
    expect(checkOutboundUrl('http://[fe80::1]/', true)).toMatch(/link-local/);
  });

  it('refuses loopback and private ranges unless allowed', () => {
    expect(checkOutboundUrl('http://127.0.0.1:8080/', false)).toMatch(/private/);
    expect(checkOutboundUrl('http://10.1.2.3/', false)).toMatch(/private/);
    expect(checkOutboundUrl('http://localhost/', false)).toMatch(/private/);
    expect(checkOutboundUrl('http://127.0.0.1:8080/', true)).toBeNull();
  });

  it('refuses other schemes and embedded credentials', () => {
    expect(checkOutboundUrl('ftp://example.com/', false)).toMatch(/http/);
    expect(checkOutboundUrl('https://user:pw@example.com/', false)).toMatch(/credentials/);
    expect(checkOutboundUrl('not a url', false)).toMatch(/absolute/);
  });
});
