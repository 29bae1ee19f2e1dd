import { ChildProcess, spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import { freePort } from './test-app';

/**
 * A Redis server of one test's own (the machine's redis-server binary on a free port, nothing kept on disk), for a
 * test that must FLUSHALL without wiping the keys of the suites running beside it on the shared server.
 */
export class PrivateRedis {
  private server?: ChildProcess;
  url = '';

  async start(): Promise<void> {
    const port = await freePort();
    this.server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    this.url = `redis://127.0.0.1:${port}`;
    const deadline = Date.now() + 10_000;
    for (;;) {
      const probe = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      try {
        await probe.connect();
        if ((await probe.ping()) === 'PONG') return;
      } catch (error) {
        if (Date.now() > deadline || this.server.exitCode !== null) {
          this.server.kill('SIGKILL');
          throw new Error(`redis-server did not start on port ${port}: ${(error as Error).message}`);
        }
      } finally {
        probe.disconnect();
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server || server.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      server.once('exit', () => resolve());
      server.kill('SIGTERM');
    });
  }
}
