import { createServer, IncomingHttpHeaders, request as httpRequest, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { OutboundHttpClient } from './outbound-client';
import { OutboundRefused, Resolver } from './outbound-http';

/** Names this test resolves itself (the machine's DNS knows none of them). */
function resolverOf(names: Record<string, string[]>): Resolver {
  return (hostname, _options, callback) => {
    const addresses = names[hostname];
    if (!addresses) return callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), []);
    callback(null, addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })));
  };
}

describe('OutboundHttpClient', () => {
  let server: Server;
  let port: number;
  const served: Array<{ url: string; method: string; headers: IncomingHttpHeaders; body: string }> = [];
  const resolve = resolverOf({ 'platform.test': ['127.0.0.1'], 'other.test': ['127.0.0.1'], 'meta.test': ['169.254.169.254'] });
  const clients: OutboundHttpClient[] = [];
  const client = (allowPrivateNetworks: boolean) => {
    const made = new OutboundHttpClient({ allowPrivateNetworks, resolve });
    clients.push(made);
    return made;
  };

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        served.push({ url: req.url!, method: req.method!, headers: req.headers, body: Buffer.concat(chunks).toString() });
        if (req.url === '/echo') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ method: req.method }));
        if (req.url === '/see-other') return void res.writeHead(303, { location: '/echo' }).end();
        if (req.url === '/to-other-host') return void res.writeHead(307, { location: `http://other.test:${port}/echo` }).end();
        if (req.url === '/to-any') return void res.writeHead(302, { location: `http://0.0.0.0:${port}/secret` }).end();
        if (req.url === '/to-meta-name') return void res.writeHead(302, { location: `http://meta.test:${port}/secret` }).end();
        if (req.url === '/to-meta-nat64') return void res.writeHead(302, { location: `http://[64:ff9b::a9fe:a9fe]:${port}/secret` }).end();
        if (req.url === '/big') return void res.writeHead(200).end(Buffer.alloc(2048));
        res.writeHead(404).end();
      });
    });
    // On every interface, so that a request that reached 0.0.0.0 would be answered.
    await new Promise<void>((done) => server.listen(0, '0.0.0.0', done));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    clients.forEach((made) => made.destroy());
    server.closeAllConnections();
    await new Promise((done) => server.close(done));
  });
  beforeEach(() => (served.length = 0));

  describe('fetch', () => {
    it('sends what fetch would, and answers a Response', async () => {
      const response = await client(true).fetch(`http://platform.test:${port}/echo`, { method: 'POST', body: new URLSearchParams({ a: '1' }) });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ method: 'POST' });
      expect(served[0]).toMatchObject({ method: 'POST', body: 'a=1', headers: { 'content-type': 'application/x-www-form-urlencoded;charset=UTF-8', host: `platform.test:${port}` } });
    });

    it('refuses a host name that resolves to an address the policy denies, sending nothing', async () => {
      await expect(client(false).fetch(`http://platform.test:${port}/echo`)).rejects.toThrow(new OutboundRefused('platform.test points at a private or loopback address'));
      await expect(client(true).fetch(`http://meta.test:${port}/echo`)).rejects.toThrow(OutboundRefused);
      expect(served).toEqual([]);
    });

    it('refuses a literal address or a metadata name before any connection', async () => {
      await expect(client(true).fetch(`http://[64:ff9b::a9fe:a9fe]:${port}/echo`)).rejects.toThrow('64:ff9b::a9fe:a9fe points at a link-local or reserved address');
      await expect(client(true).fetch('http://metadata.google.internal./computeMetadata/v1/')).rejects.toThrow(/metadata/);
      await expect(client(false).fetch(`http://127.0.0.1:${port}/echo`)).rejects.toThrow(/private or loopback/);
      expect(served).toEqual([]);
    });

    it('follows a redirect only to a target the policy allows, each hop checked', async () => {
      for (const path of ['/to-any', '/to-meta-name', '/to-meta-nat64']) {
        await expect(client(true).fetch(`http://platform.test:${port}${path}`)).rejects.toThrow(OutboundRefused);
      }
      expect(served.map((request) => request.url)).toEqual(['/to-any', '/to-meta-name', '/to-meta-nat64']);
    });

    it('drops credentials when a redirect leaves the origin, and turns a 303 into a GET', async () => {
      const headers = { authorization: 'Bearer secret-token', 'x-api-key': 'secret-key', accept: 'application/json' };
      expect((await client(true).fetch(`http://platform.test:${port}/to-other-host`, { headers })).status).toBe(200);
      expect(served[1].headers).toMatchObject({ host: `other.test:${port}`, accept: 'application/json' });
      expect(served[1].headers.authorization).toBeUndefined();
      expect(served[1].headers['x-api-key']).toBeUndefined();
      const seeOther = await client(true).fetch(`http://platform.test:${port}/see-other`, { method: 'POST', body: 'x' });
      expect(await seeOther.json()).toEqual({ method: 'GET' });
    });

    it("refuses a redirect with redirect: 'error', and answers it with 'manual'", async () => {
      await expect(client(true).fetch(`http://platform.test:${port}/see-other`, { redirect: 'error' })).rejects.toThrow(TypeError);
      expect((await client(true).fetch(`http://platform.test:${port}/see-other`, { redirect: 'manual' })).status).toBe(303);
      expect(served).toHaveLength(2);
    });

    it('rejects a network failure as fetch does, with the cause', async () => {
      const failed = await client(true).fetch('http://nowhere.test/').catch((error: unknown) => error);
      expect(failed).toBeInstanceOf(TypeError);
      expect((failed as Error & { cause: { code: string } }).cause.code).toBe('ENOTFOUND');
    });
  });

  describe('send', () => {
    const post = (http: OutboundHttpClient, url: string, limit = 1024) => http.send({ url, headers: { 'content-type': 'text/plain' }, body: 'hello', signal: AbortSignal.timeout(5_000), limit });

    it('posts over kept-alive sockets and reads the answer up to its limit', async () => {
      const http = client(true);
      const answer = await post(http, `http://platform.test:${port}/echo`);
      expect([answer.status, answer.ok, answer.header('Content-Type'), answer.body?.toString()]).toEqual([200, true, 'application/json', '{"method":"POST"}']);
      expect((await post(http, `http://platform.test:${port}/big`)).body).toBeUndefined();
      expect(served.map((request) => request.body)).toEqual(['hello', 'hello']);
    });

    it('refuses what the policy denies, by name or by address, sending nothing', async () => {
      await expect(post(client(false), `http://platform.test:${port}/echo`)).rejects.toThrow('platform.test points at a private or loopback address');
      await expect(post(client(true), `http://meta.test:${port}/echo`)).rejects.toThrow(OutboundRefused);
      await expect(post(client(true), `http://[::169.254.169.254]:${port}/echo`)).rejects.toThrow(/link-local or reserved/);
      expect(served).toEqual([]);
    });
  });

  it("checks every new connection of its agents, literal addresses included, whoever sends through them", async () => {
    const refused = await new Promise<Error>((done) => {
      const req = httpRequest({ host: '0.0.0.0', port, path: '/secret', agent: client(true).agents.http });
      req.on('error', done);
      req.on('response', () => done(new Error('answered')));
      req.end();
    });
    expect(refused).toBeInstanceOf(OutboundRefused);
    expect(refused.message).toBe('0.0.0.0 points at a link-local or reserved address');
    expect(served).toEqual([]);
  });
});
