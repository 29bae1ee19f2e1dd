import { send, SimulatorRouter } from '../http/simulator-http';
import { AgentConsoleAssets } from './agent-console.assets';

/** Which simulator a console plays the agent on; picks the browser-side adapter. */
export interface AgentConsolePlatform {
  id: 'gms' | 'eight-by-eight';
  /** Shown in the page title. */
  name: string;
  /** The adapter file in `assets/` that maps the simulator's control API to the console's model. */
  adapter: string;
}

export const GMS_AGENT_CONSOLE: AgentConsolePlatform = { id: 'gms', name: 'Genesys PureEngage (GMS Chat API v2)', adapter: 'gms.platform.js' };
export const EIGHT_BY_EIGHT_AGENT_CONSOLE: AgentConsolePlatform = {
  id: 'eight-by-eight',
  name: '8x8 Contact Center (Chat Gateway v1)',
  adapter: 'eight-by-eight.platform.js',
};

/** The console polls the control API this often. */
export const AGENT_CONSOLE_POLL_INTERVAL_MS = 500;

export const AGENT_CONSOLE_PATH = '/console';

/** True for the console's own routes (a simulator's fault injection must leave them alone). */
export function isAgentConsolePath(path: string): boolean {
  return path === AGENT_CONSOLE_PATH || path.startsWith(`${AGENT_CONSOLE_PATH}/`);
}

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
};

// Everything the page loads comes from the simulator itself: no CDN (machines running it may have no internet), and
// the policy proves it. Attachment links are same-origin control API routes.
const HEADERS = {
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'self'; img-src 'self' data: blob:; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
};

/**
 * Mounts the agent console at `/console`: one page and one script shared by every simulator, plus the platform's
 * adapter (served as `/console/platform.js`) and `/console/config.json`. The page acts through the simulator's
 * JSON control API under `/sim`, which it polls.
 */
export function registerAgentConsoleRoutes(router: SimulatorRouter, platform: AgentConsolePlatform, assets = new AgentConsoleAssets()): void {
  const serve = (path: string, file: string) =>
    router.on('GET', `${AGENT_CONSOLE_PATH}${path}`, (_req, res) => {
      let content: Buffer;
      try {
        content = assets.read(file);
      } catch (error) {
        send(res, 500, { message: (error as Error).message });
        return;
      }
      send(res, 200, content, TYPES[file.slice(file.lastIndexOf('.') + 1)], HEADERS);
    });
  serve('', 'agent-console.html');
  serve('/agent-console.js', 'agent-console.js');
  serve('/agent-console.css', 'agent-console.css');
  serve('/platform.js', platform.adapter);
  router.on('GET', `${AGENT_CONSOLE_PATH}/config.json`, (_req, res) =>
    send(res, 200, { platform: platform.id, name: platform.name, controlApi: '/sim', pollIntervalMs: AGENT_CONSOLE_POLL_INTERVAL_MS }, 'application/json', HEADERS),
  );
}
