import { Server } from 'node:http';
import { connect, Socket } from 'node:net';
import { loadConfig } from '../../src/config/app-config';
import { waitFor } from '../support/bot-receiver';
import { resetState, startTestApp, TestApp } from '../support/test-app';

/** A kept-alive connection: sends requests one at a time, reads each answer, notices when the server closes it. */
class Connection {
  readonly socket: Socket;
  private received = '';
  closedAt: number | null = null;

  constructor(url: string) {
    const { hostname, port } = new URL(url);
    this.socket = connect(Number(port), hostname);
    this.socket.setEncoding('utf8');
    this.socket.on('data', (chunk: string) => (this.received += chunk));
    this.socket.on('close', () => (this.closedAt = Date.now()));
  }

  /** Sends GET /health/live and answers the status line of its answer. */
  async get(): Promise<string> {
    this.received = '';
    this.socket.write('GET /health/live HTTP/1.1\r\nHost: gateway\r\nConnection: keep-alive\r\n\r\n');
    const deadline = Date.now() + 5_000;
    while (!/\r\n\r\n[\s\S]*\}/.test(this.received) && this.closedAt === null && Date.now() < deadline) await sleep(20);
    return this.received.split('\r\n')[0];
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('idle keep-alive connections', () => {
  let t: TestApp;
  beforeAll(async () => {
    await resetState();
    t = await startTestApp({ HTTP_KEEP_ALIVE_SECONDS: '2' });
  });
  afterAll(() => t.close());

  it('stay open for HTTP_KEEP_ALIVE_SECONDS, then the server closes them', async () => {
    // The idle timer is Node's own (the server's keepAliveTimeout), which no test clock reaches: the server is checked
    // to carry the setting, and a connection to be served again, then closed, and not sooner than that after a request.
    expect((t.app.getHttpServer() as Server).keepAliveTimeout).toBe(2_000);
    const connection = new Connection(t.url);
    try {
      expect(await connection.get()).toBe('HTTP/1.1 200 OK');
      // Still open: the next request is served on it.
      expect(connection.closedAt).toBeNull();
      const secondSentAt = Date.now();
      expect(await connection.get()).toBe('HTTP/1.1 200 OK');
      await waitFor('the server closing the idle connection', () => connection.closedAt !== null);
      // Counted from before the answer, so a slow machine can only make this longer (Node's own default would be 5 s).
      expect(connection.closedAt! - secondSentAt).toBeGreaterThanOrEqual(1_800);
    } finally {
      connection.socket.destroy();
    }
  }, 15_000);

  it('stay open 65 s by default, longer than the common 60 s idle timeout of load balancers', () => {
    expect(loadConfig({ SECRETS_KEY: process.env.SECRETS_KEY }).HTTP_KEEP_ALIVE_SECONDS).toBe(65);
  });
});
