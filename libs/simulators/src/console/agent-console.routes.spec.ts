import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { EightByEightSimulator } from '../eight-by-eight/eight-by-eight-simulator';
import { GmsSimulator } from '../gms/gms-simulator';
import { close, listen, SimulatorRouter } from '../http/simulator-http';
import { AgentConsoleAssets, findAgentConsoleAssets } from './agent-console.assets';
import { GMS_AGENT_CONSOLE, isAgentConsolePath, registerAgentConsoleRoutes } from './agent-console.routes';

const ASSETS = join(__dirname, 'assets');

describe('agent console routes', () => {
  const gms = new GmsSimulator();
  const eightByEight = new EightByEightSimulator({ validateRequests: false });
  let gmsUrl: string;
  let eightByEightUrl: string;

  beforeAll(async () => {
    gmsUrl = await gms.start();
    eightByEightUrl = await eightByEight.start();
  });
  afterAll(async () => {
    await gms.stop();
    await eightByEight.stop();
  });

  it.each([
    ['GMS', () => gmsUrl, 'gms', 'gms.platform.js'],
    ['8x8', () => eightByEightUrl, 'eight-by-eight', 'eight-by-eight.platform.js'],
  ])('serves the shared page and the %s adapter from the simulator itself', async (_name, base, platform, adapter) => {
    const page = await fetch(`${base()}/console`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    const html = await page.text();
    expect(html).toContain('<script src="/console/platform.js" defer></script>');
    // No CDN: every script and stylesheet the page names is one of the simulator's own paths.
    for (const [, url] of html.matchAll(/(?:src|href)="([^"]+)"/g)) expect(url.startsWith('/console/') || url.startsWith('data:')).toBe(true);

    const script = await fetch(`${base()}/console/platform.js`);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await script.text()).toBe(readFileSync(join(ASSETS, adapter), 'utf8'));
    expect((await fetch(`${base()}/console/agent-console.js`)).status).toBe(200);
    expect((await fetch(`${base()}/console/agent-console.css`)).headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(await (await fetch(`${base()}/console/config.json`)).json()).toEqual({ platform, name: expect.any(String), controlApi: '/sim', pollIntervalMs: 500 });
  });

  it('keeps 8x8 HTTP faults off the console: the page loads while every API call fails', async () => {
    eightByEight.injectHttpFault({ kind: 'error', status: 503, count: 5 });
    try {
      expect((await fetch(`${eightByEightUrl}/console`)).status).toBe(200);
      expect((await fetch(`${eightByEightUrl}/chat-gateway/v1/webhooks`, { headers: { 'x-api-key': eightByEight.apiKey } })).status).toBe(503);
    } finally {
      eightByEight.clearFaults();
    }
  });

  it('gives every element the script looks up an id in the page', () => {
    const html = readFileSync(join(ASSETS, 'agent-console.html'), 'utf8');
    const script = readFileSync(join(ASSETS, 'agent-console.js'), 'utf8');
    const looked = [...script.matchAll(/\$\('([a-z-]+)'\)/g)].map((match) => match[1]);
    expect(looked.length).toBeGreaterThan(10);
    for (const id of new Set(looked)) expect(html).toContain(`id="${id}"`);
  });

  it('finds the files from the compiled folder by walking up to the sources', () => {
    const compiled = resolve(__dirname, '..', '..', '..', '..', 'dist', 'libs', 'simulators', 'src', 'console');
    expect(findAgentConsoleAssets(compiled)).toBe(ASSETS);
    expect(findAgentConsoleAssets('/')).toBeUndefined();
  });

  it('answers 500 naming the folder when the files are missing', async () => {
    const router = new SimulatorRouter();
    registerAgentConsoleRoutes(router, GMS_AGENT_CONSOLE, new AgentConsoleAssets('/nowhere'));
    const server = router.createServer();
    const url = await listen(server);
    try {
      const response = await fetch(`${url}/console`);
      expect(response.status).toBe(500);
      expect(((await response.json()) as { message: string }).message).toContain('libs/simulators/src/console/assets');
    } finally {
      await close(server);
    }
  });

  it('recognizes its own paths only', () => {
    expect(isAgentConsolePath('/console')).toBe(true);
    expect(isAgentConsolePath('/console/platform.js')).toBe(true);
    expect(isAgentConsolePath('/consoles')).toBe(false);
    expect(isAgentConsolePath('/chat-gateway/v1/console')).toBe(false);
  });
});
