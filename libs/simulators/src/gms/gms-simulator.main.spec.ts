import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { postForm } from './gms-simulator.spec-helpers';

/** Starts the stand-alone entry the way `npm run simulator:gms` does, minus the build, and returns its first line. */
async function startMain(args: string[]): Promise<{ child: ChildProcess; firstLine: string }> {
  const child = spawn(process.execPath, ['-r', '@swc-node/register', join(__dirname, 'gms-simulator.main.ts'), ...args], {
    cwd: join(__dirname, '../../../..'),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const [firstLine] = (await once(lines, 'line')) as [string];
  return { child, firstLine };
}

describe('gms-simulator.main', () => {
  it('prints its base URL first, serves with the flags given, and exits cleanly on SIGTERM', async () => {
    const { child, firstLine } = await startMain(['--port', '0', '--service-name', 'digital', '--basic-user', 'u', '--basic-password', 'p', '--flex-disconnect-seconds', '5']);
    try {
      const match = /^GMS simulator listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(firstLine);
      expect(match).not.toBeNull();
      const baseUrl = match![1];
      const authorization = `Basic ${Buffer.from('u:p').toString('base64')}`;
      expect((await postForm(`${baseUrl}/genesys/2/chat/digital`, { nickname: 'Jo' })).status).toBe(401);
      expect((await postForm(`${baseUrl}/genesys/2/chat/other`, { nickname: 'Jo' }, { authorization })).status).toBe(404);
      expect((await postForm(`${baseUrl}/genesys/2/chat/digital`, { nickname: 'Jo' }, { authorization })).body.statusCode).toBe(0);
      const status = (await (await fetch(`${baseUrl}/sim/status`)).json()) as { options: Record<string, unknown> };
      expect(status.options).toMatchObject({ flexDisconnectSeconds: 5, serviceNames: ['digital'], basicAuth: true });
    } finally {
      child.kill('SIGTERM');
    }
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
  }, 20_000);
});
