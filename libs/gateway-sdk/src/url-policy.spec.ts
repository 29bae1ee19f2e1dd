import { checkOutboundAddress, checkOutboundUrl } from './url-policy';

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

describe('checkOutboundAddress', () => {
  it('reads an IPv4 address written as IPv6 as that IPv4 address', () => {
    expect(checkOutboundAddress('::ffff:169.254.169.254', true)).toMatch(/link-local/);
    expect(checkOutboundAddress('::ffff:a9fe:a9fe', true)).toMatch(/link-local/);
    expect(checkOutboundAddress('::ffff:7f00:1', false)).toMatch(/private/);
    expect(checkOutboundAddress('::ffff:5db8:d822', false)).toBeNull();
    // As a URL's host, which the URL parser writes in the hexadecimal form.
    expect(checkOutboundUrl('http://[::ffff:169.254.169.254]/', true)).toMatch(/link-local/);
  });

  it('judges resolved addresses as it judges literal ones', () => {
    expect(checkOutboundAddress('10.0.0.7', false)).toMatch(/private/);
    expect(checkOutboundAddress('10.0.0.7', true)).toBeNull();
    expect(checkOutboundAddress('fe80::1', true)).toMatch(/link-local/);
    expect(checkOutboundAddress('2606:4700::1111', false)).toBeNull();
    expect(checkOutboundAddress('example.com', true)).toMatch(/not an IP/);
  });
});
