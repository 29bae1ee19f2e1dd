import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo, Socket } from 'node:net';
import { OutboundHttpClient, Resolver } from '@app/gateway-sdk';
import { CallbackError, postCallback } from './callback-http';

/**
 * A callback server that answers the first request of each connection and, like a server closing an idle kept-alive
 * socket just as a request arrives on it, drops the connection on its second request without answering.
 */
describe('postCallback', () => {
  const clients: OutboundHttpClient[] = [];
  /** The outbound policy's agents, as the delivery service has them. */
  const agents = (allowPrivateNetworks: boolean, resolve?: Resolver) => {
    const client = new OutboundHttpClient({ allowPrivateNetworks, resolve });
    clients.push(client);
    return client.agents;
  };
  const allowed = agents(true);
  let server: Server;
  let url: string;
  const received: { body: string; connection: number; dropped: boolean }[] = [];

  beforeAll(async () => {
    const requestsOn = new WeakMap<Socket, number>();
    let connections = 0;
    const ids = new WeakMap<Socket, number>();
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const socket = req.socket;
      if (!ids.has(socket)) ids.set(socket, ++connections);
      const n = (requestsOn.get(socket) ?? 0) + 1;
      requestsOn.set(socket, n);
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const dropped = n === 2;
        received.push({ body: Buffer.concat(chunks).toString(), connection: ids.get(socket)!, dropped });
        if (dropped) socket.destroy();
        else res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  });
  afterAll(async () => {
    clients.forEach((client) => client.destroy());
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => {
    received.length = 0;
  });

  it('marks a request that a reused kept-alive socket lost before any answer as a stale socket', async () => {
    expect(await postCallback(url, { 'webhook-id': 'msg_1' }, '{"n":1}', 5_000, allowed)).toBe(204);
    // The same socket is reused for the next event and the server drops it without answering.
    await expect(postCallback(url, { 'webhook-id': 'msg_2' }, '{"n":2}', 5_000, allowed)).rejects.toMatchObject({ code: 'ECONNRESET', staleSocket: true });
    expect(received.map(({ body, dropped }) => [body, dropped])).toEqual([
      ['{"n":1}', false],
      ['{"n":2}', true],
    ]);
    expect(received[1].connection).toBe(received[0].connection);
  });

  it('does not mark a refused new connection as a stale socket', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const refused = await postCallback(`http://127.0.0.1:${port}/hooks`, {}, '{}', 2_000, allowed).catch((error: CallbackError) => error);
    expect(refused).toMatchObject({ code: 'ECONNREFUSED' });
    expect((refused as CallbackError).staleSocket).toBeUndefined();
  });

  it("connects only where the outbound policy lets the callback's host name resolve", async () => {
    // bot.test is resolved here (the machine's DNS does not know it) to this test's server on the loopback.
    const resolve: Resolver = (_hostname, _options, callback) => callback(null, [{ address: '127.0.0.1', family: 4 }]);
    const named = url.replace('127.0.0.1', 'bot.test');
    const refused = await postCallback(named, {}, '{"n":"refused"}', 2_000, agents(false, resolve)).catch((error: Error) => error);
    expect((refused as Error).message).toBe('bot.test points at a private or loopback address');
    expect(received.map(({ body }) => body)).toEqual([]);
    expect(await postCallback(named, {}, '{"n":"allowed"}', 2_000, agents(true, resolve))).toBe(204);
    expect(received.map(({ body }) => body)).toEqual(['{"n":"allowed"}']);
  });

  it('connects to a literal callback address only where the outbound policy allows it, whatever was allowed when it was set', async () => {
    const refused = await postCallback(url, {}, '{"n":"literal"}', 2_000, agents(false)).catch((error: Error) => error);
    expect((refused as Error).message).toBe('127.0.0.1 points at a private or loopback address');
    expect(received).toEqual([]);
  });
});
