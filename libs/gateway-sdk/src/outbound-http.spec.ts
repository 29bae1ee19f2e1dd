import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { GatewayError } from './gateway-error';
import { DownloadTooLarge, downloadOutbound, fetchLinkUnder, guardedLookup, OutboundRefused, Resolver } from './outbound-http';

/** Names this test resolves itself (the machine's DNS knows none of them). */
function resolverOf(names: Record<string, string[]>): Resolver {
  return (hostname, _options, callback) => {
    const addresses = names[hostname];
    if (!addresses) return callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), []);
    callback(null, addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })));
  };
}

function lookupOnce(lookup: ReturnType<typeof guardedLookup>, hostname: string, all: boolean): Promise<unknown> {
  return new Promise((resolve, reject) => lookup(hostname, { all }, (error, address, family) => (error ? reject(error) : resolve(all ? address : { address, family }))));
}

describe('guardedLookup', () => {
  const resolve = resolverOf({
    'public.test': ['93.184.216.34'],
    'meta.test': ['169.254.169.254'],
    'mapped.test': ['::ffff:169.254.169.254'],
    'loop.test': ['127.0.0.1'],
    'mixed.test': ['93.184.216.34', '10.0.0.7'],
  });

  it('answers in the form asked for when every address is acceptable', async () => {
    await expect(lookupOnce(guardedLookup(false, resolve), 'public.test', false)).resolves.toEqual({ address: '93.184.216.34', family: 4 });
    await expect(lookupOnce(guardedLookup(false, resolve), 'public.test', true)).resolves.toEqual([{ address: '93.184.216.34', family: 4 }]);
  });

  it('refuses a name resolving to a link-local address even when private networks are allowed', async () => {
    await expect(lookupOnce(guardedLookup(true, resolve), 'meta.test', false)).rejects.toThrow('meta.test points at a link-local or reserved address');
    await expect(lookupOnce(guardedLookup(true, resolve), 'mapped.test', true)).rejects.toThrow(OutboundRefused);
  });

  it('refuses private and loopback answers unless allowed, any one of several', async () => {
    await expect(lookupOnce(guardedLookup(false, resolve), 'loop.test', false)).rejects.toThrow(/private or loopback/);
    await expect(lookupOnce(guardedLookup(false, resolve), 'mixed.test', true)).rejects.toThrow(/private or loopback/);
    await expect(lookupOnce(guardedLookup(true, resolve), 'loop.test', false)).resolves.toEqual({ address: '127.0.0.1', family: 4 });
  });

  it('passes a resolution failure on as it is', async () => {
    await expect(lookupOnce(guardedLookup(true, resolve), 'nowhere.test', false)).rejects.toThrow(/ENOTFOUND/);
  });
});

describe('downloadOutbound', () => {
  let server: Server;
  let port: number;
  const served: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      served.push(req.url!);
      if (req.url === '/file') return void res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end('the file');
      if (req.url === '/moved') return void res.writeHead(302, { location: '/file' }).end();
      if (req.url === '/to-any') return void res.writeHead(302, { location: `http://0.0.0.0:${port}/secret` }).end();
      if (req.url === '/to-meta-name') return void res.writeHead(307, { location: `http://meta.test:${port}/secret` }).end();
      if (req.url === '/loop') return void res.writeHead(302, { location: '/loop' }).end();
      if (req.url === '/declared-big') return void res.writeHead(200, { 'content-length': '2048' }).end(Buffer.alloc(2048));
      if (req.url === '/streamed-big') {
        res.writeHead(200);
        for (let i = 0; i < 4; i++) res.write(Buffer.alloc(512));
        return void res.end();
      }
      if (req.url === '/secret') return void res.writeHead(200).end('instance credentials');
      if (req.url === '/silent') return; // never answers
      if (req.url === '/busy') return void res.writeHead(429, { 'retry-after': '7' }).end();
      res.writeHead(404).end();
    });
    // On every interface, so that a request that reached 0.0.0.0 would be answered.
    await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => (served.length = 0));

  const options = { allowPrivateNetworks: true, timeoutMs: 5_000, maxBytes: 1024, resolve: resolverOf({ 'files.test': ['127.0.0.1'], 'meta.test': ['169.254.169.254'] }) };

  it('gets a file, following a redirect', async () => {
    const got = await downloadOutbound(`http://127.0.0.1:${port}/moved`, options);
    expect(got).toEqual({ status: 200, body: Buffer.from('the file'), contentType: 'text/plain' });
    expect(served).toEqual(['/moved', '/file']);
  });

  it('connects to what the name resolved to, under the policy', async () => {
    expect((await downloadOutbound(`http://files.test:${port}/file`, options)).body.toString()).toBe('the file');
    await expect(downloadOutbound(`http://files.test:${port}/file`, { ...options, allowPrivateNetworks: false })).rejects.toThrow('files.test points at a private or loopback address');
    expect(served).toEqual(['/file']);
  });

  it('does not follow a redirect to an address or a name the policy denies', async () => {
    await expect(downloadOutbound(`http://127.0.0.1:${port}/to-any`, options)).rejects.toThrow('redirect target points at a link-local or reserved address');
    await expect(downloadOutbound(`http://127.0.0.1:${port}/to-meta-name`, options)).rejects.toThrow(OutboundRefused);
    expect(served).toEqual(['/to-any', '/to-meta-name']);
  });

  it('refuses the URL itself before any request', async () => {
    await expect(downloadOutbound(`http://127.0.0.1:${port}/file`, { ...options, allowPrivateNetworks: false })).rejects.toThrow(/private or loopback/);
    await expect(downloadOutbound('file:///etc/passwd', options)).rejects.toThrow(/http or https/);
    expect(served).toEqual([]);
  });

  it('cuts an answer over the size limit, declared or not', async () => {
    await expect(downloadOutbound(`http://127.0.0.1:${port}/declared-big`, options)).rejects.toThrow(DownloadTooLarge);
    await expect(downloadOutbound(`http://127.0.0.1:${port}/streamed-big`, options)).rejects.toThrow('larger than 1024 bytes');
  });

  it('answers the status of a failed download and of a redirect loop', async () => {
    expect((await downloadOutbound(`http://127.0.0.1:${port}/gone`, options)).status).toBe(404);
    expect((await downloadOutbound(`http://127.0.0.1:${port}/loop`, options)).status).toBe(302);
    expect(served.filter((url) => url === '/loop')).toHaveLength(4);
  });

  describe('fetchLinkUnder (what a gateway\'s fetchLink answers)', () => {
    const policy = { allowPrivateNetworks: true, timeoutMs: 5_000, resolve: options.resolve };

    it('answers the content of a 2xx and the status of anything else', async () => {
      await expect(fetchLinkUnder(policy, `http://127.0.0.1:${port}/moved`, 1024)).resolves.toEqual({ status: 200, content: Buffer.from('the file'), mimeType: 'text/plain' });
      await expect(fetchLinkUnder(policy, `http://127.0.0.1:${port}/gone`, 1024)).resolves.toEqual({ status: 404, content: Buffer.alloc(0), mimeType: undefined });
      await expect(fetchLinkUnder(policy, `http://127.0.0.1:${port}/busy`, 1024)).resolves.toEqual({ status: 429, content: Buffer.alloc(0), mimeType: undefined, retryAfter: '7' });
    });

    it('answers why it refused what the policy denies or what is too large, without sending it on', async () => {
      await expect(fetchLinkUnder(policy, `http://127.0.0.1:${port}/to-any`, 1024)).resolves.toEqual({ refused: 'url redirect target points at a link-local or reserved address' });
      await expect(fetchLinkUnder({ ...policy, allowPrivateNetworks: false }, `http://files.test:${port}/file`, 1024)).resolves.toEqual({
        refused: 'url files.test points at a private or loopback address',
      });
      await expect(fetchLinkUnder(policy, `http://127.0.0.1:${port}/streamed-big`, 1024)).resolves.toEqual({ refused: 'larger than 1024 bytes' });
      expect(served).not.toContain('/secret');
    });

    it('throws a transient error when nothing answers, in time or at all', async () => {
      const silent = fetchLinkUnder({ ...policy, timeoutMs: 200 }, `http://127.0.0.1:${port}/silent`, 1024);
      await expect(silent).rejects.toBeInstanceOf(GatewayError);
      await expect(silent).rejects.toMatchObject({ code: 'transient', message: `link unreachable (127.0.0.1:${port}): no answer in time` });
      await expect(fetchLinkUnder(policy, `http://nowhere.test/file`, 1024)).rejects.toMatchObject({ code: 'transient', message: expect.stringContaining('ENOTFOUND nowhere.test') });
    });
  });
});
