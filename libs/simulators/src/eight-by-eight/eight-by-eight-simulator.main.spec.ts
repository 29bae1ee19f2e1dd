import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** Starts the stand-alone entry as `npm run simulator:8x8` does, minus the build; resolves with its first line. */
async function startMain(args: string[]): Promise<{ child: ChildProcess; firstLine: string }> {
  const child = spawn(process.execPath, ['-r', '@swc-node/register', join(__dirname, 'eight-by-eight-simulator.main.ts'), ...args], {
    cwd: join(__dirname, '../../../..'),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const [firstLine] = (await once(lines, 'line')) as [string];
  return { child, firstLine };
}

describe('eight-by-eight-simulator.main', () => {
  it('prints its base URL first, serves with the flags given, and exits cleanly on SIGTERM', async () => {
    const { child, firstLine } = await startMain(['--port', '0', '--api-key', 'cli-key', '--tenant-id', 'cli-tenant', '--queues', '101:Support', '--available', '2']);
    try {
      const match = /^8x8 simulator listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(firstLine);
      expect(match).not.toBeNull();
      const baseUrl = match![1];
      expect((await fetch(`${baseUrl}/chat-gateway/v1/channels`, { headers: { 'x-api-key': 'sim-api-key' } })).status).toBe(401);
      const ok = await fetch(`${baseUrl}/chat-gateway/v1/channels`, { headers: { 'x-api-key': 'cli-key', 'X-8x8-Tenant': 'cli-tenant' } });
      expect(ok.status).toBe(200);
      const queues = (await (await fetch(`${baseUrl}/sim/queues`)).json()) as Array<{ id: string; name: string; agents: { available: number } }>;
      expect(queues).toMatchObject([{ id: '101', name: 'Support', agents: { available: 2 } }]);
    } finally {
      child.kill('SIGTERM');
    }
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
  }, 20_000);
});
