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

  it('refuses a metadata name written with the trailing dot of a fully qualified name', () => {
    expect(checkOutboundUrl('http://metadata.google.internal./computeMetadata/v1/', true)).toMatch(/metadata/);
    expect(checkOutboundUrl('http://METADATA.google.internal../', true)).toMatch(/metadata/);
    expect(checkOutboundUrl('http://localhost./', false)).toMatch(/private/);
    expect(checkOutboundUrl('http://gms.example.com./', false)).toBeNull();
  });

  it('refuses addresses carried in IPv6 forms as the IPv4 address they carry', () => {
    // NAT64 of the metadata address, IPv4-compatible, 6to4, Teredo (client stored inverted).
    expect(checkOutboundUrl('http://[64:ff9b::a9fe:a9fe]/', true)).toMatch(/link-local/);
    expect(checkOutboundUrl('http://[64:ff9b::169.254.169.254]/', true)).toMatch(/link-local/);
    expect(checkOutboundUrl('http://[::169.254.169.254]/', true)).toMatch(/link-local/);
    expect(checkOutboundUrl('http://[2002:a9fe:a9fe::1]/', true)).toMatch(/link-local/);
    expect(checkOutboundUrl('http://[2001:0:5db8:d822::5601:5601]/', true)).toMatch(/link-local/);
    expect(checkOutboundUrl('http://[::ffff:0:a9fe:a9fe]/', true)).toMatch(/link-local/);
  });

  it('refuses reserved ranges: link-local fe80::/10 past fe80::, multicast, documentation, broadcast', () => {
    expect(checkOutboundUrl('http://[fe90::1]/', true)).toMatch(/link-local or reserved/);
    expect(checkOutboundUrl('http://[febf::1]/', true)).toMatch(/link-local or reserved/);
    expect(checkOutboundUrl('http://[ff02::1]/', true)).toMatch(/link-local or reserved/);
    expect(checkOutboundUrl('http://224.0.0.1/', true)).toMatch(/link-local or reserved/);
    expect(checkOutboundUrl('http://255.255.255.255/', true)).toMatch(/link-local or reserved/);
    expect(checkOutboundUrl('http://192.0.2.10/', true)).toMatch(/link-local or reserved/);
    expect(checkOutboundUrl('http://240.0.0.1/', true)).toMatch(/link-local or reserved/);
    expect(checkOutboundUrl('http://[2001:db8::1]/', true)).toMatch(/link-local or reserved/);
    expect(checkOutboundUrl('http://[::]/', true)).toMatch(/link-local or reserved/);
    expect(checkOutboundUrl('http://0.0.0.0/', true)).toMatch(/link-local or reserved/);
  });

  it('reads the numeric host forms a URL normalizes, as the address they name', () => {
    expect(checkOutboundUrl('http://2852039166/', true)).toMatch(/link-local/);
    expect(checkOutboundUrl('http://0xa9.0xfe.0xa9.0xfe/', true)).toMatch(/link-local/);
    expect(checkOutboundUrl('http://0177.1/', false)).toMatch(/private/);
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

  it('judges NAT64 addresses of the local-use prefix by every layout they may have', () => {
    // A /96 translator on 64:ff9b:1::/48.
    expect(checkOutboundAddress('64:ff9b:1::a9fe:a9fe', true)).toMatch(/link-local/);
    expect(checkOutboundAddress('64:ff9b:1:7:0:0:5db8:d822', false)).toBeNull();
    // The /48 layout (address in bits 48-63 and 72-87, around the reserved octet).
    expect(checkOutboundAddress('64:ff9b:1:a9fe:a9:fe00::', true)).toMatch(/link-local/);
    // The /64 layout.
    expect(checkOutboundAddress('64:ff9b:1::a9:fea9:fe00:0', true)).toMatch(/link-local/);
  });

  it('keeps private and loopback addresses carried in IPv6 forms private, and public ones public', () => {
    expect(checkOutboundAddress('64:ff9b::a00:7', false)).toMatch(/private/);
    expect(checkOutboundAddress('64:ff9b::a00:7', true)).toBeNull();
    expect(checkOutboundAddress('64:ff9b::5db8:d822', false)).toBeNull();
    expect(checkOutboundAddress('2002:5db8:d822::1', false)).toBeNull();
    expect(checkOutboundAddress('::1', false)).toMatch(/private/);
    expect(checkOutboundAddress('::1', true)).toBeNull();
  });

  it('refuses cloud metadata addresses inside ranges otherwise private', () => {
    expect(checkOutboundAddress('100.100.100.200', true)).toMatch(/link-local or reserved/);
    expect(checkOutboundAddress('fd00:ec2::254', true)).toMatch(/link-local or reserved/);
    expect(checkOutboundAddress('100.64.0.1', true)).toBeNull();
    expect(checkOutboundAddress('fd12::1', true)).toBeNull();
    expect(checkOutboundAddress('fd12::1', false)).toMatch(/private/);
  });

  it('judges resolved addresses as it judges literal ones', () => {
    expect(checkOutboundAddress('10.0.0.7', false)).toMatch(/private/);
    expect(checkOutboundAddress('10.0.0.7', true)).toBeNull();
    expect(checkOutboundAddress('fe80::1', true)).toMatch(/link-local/);
    expect(checkOutboundAddress('2606:4700::1111', false)).toBeNull();
    expect(checkOutboundAddress('example.com', true)).toMatch(/not an IP/);
  });
});
