import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import { Queue, Worker } from 'bullmq';
import { AppLogger } from '../common/app-logger';
import { logQueueErrors } from './queue-errors';

/** A port nothing listens on: taken from the system, then let go. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('logQueueErrors', () => {
  it.each([
    ['worker', 'queue worker error'],
    ['producer', 'queue producer error'],
  ] as const)("logs a %s's connection errors as one structured line per interval, with how many came", async (kind, message) => {
    const lines: Record<string, unknown>[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    });
    const logger = new AppLogger('info', destination);
    const port = await closedPort();
    // Its Redis is not there: ioredis reports every refused reconnection through the queue or worker.
    const connection = { host: '127.0.0.1', port, maxRetriesPerRequest: null, retryStrategy: () => 20 };
    const target = kind === 'worker' ? new Worker('queue-errors-spec', async () => undefined, { connection, prefix: '{cgspec}' }) : new Queue('queue-errors-spec', { connection, prefix: '{cgspec}' });
    const seen: Error[] = [];
    (target as Queue).on('error', (error) => seen.push(error));
    logQueueErrors(target, logger);
    try {
      const deadline = Date.now() + 5_000;
      while (seen.length < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(seen.length).toBeGreaterThanOrEqual(3);
      logger.flush();
      await new Promise((resolve) => setImmediate(resolve));
      const logged = lines.filter((line) => line.msg === message);
      // The first error is logged at once; the ones after it in the same 10 s are held for the next line.
      expect(logged).toHaveLength(1);
      expect(logged[0]).toMatchObject({ level: 'warn', component: 'queues', queue: 'queue-errors-spec', errors: 1, error: expect.stringContaining('ECONNREFUSED') });
    } finally {
      await (kind === 'worker' ? (target as Worker).close(true) : (target as Queue).close()).catch(() => undefined);
    }
  });
});
