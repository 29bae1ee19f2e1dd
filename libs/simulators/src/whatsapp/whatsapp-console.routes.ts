import { AgentConsoleAssets } from '../console/agent-console.assets';
import { send, SimulatorRouter } from '../http/simulator-http';

export const WHATSAPP_CONSOLE_PATH = '/console';

const TYPES: Record<string, string> = { html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' };
// Everything comes from the simulator itself (no CDN), as for the agent and Teams consoles.
const HEADERS = {
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'self'; img-src 'self' data: blob:; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
};

/**
 * The WhatsApp user console at `/console`: a page where a person plays a WhatsApp user writing to a business. Its
 * files sit with the agent consoles' (libs/simulators/src/console/assets) and act through the control API.
 */
export function registerWhatsAppConsoleRoutes(router: SimulatorRouter, assets = new AgentConsoleAssets()): void {
  const serve = (path: string, file: string) =>
    router.on('GET', `${WHATSAPP_CONSOLE_PATH}${path}`, (_req, res) => {
      try {
        send(res, 200, assets.read(file), TYPES[file.slice(file.lastIndexOf('.') + 1)], HEADERS);
      } catch (error) {
        send(res, 500, { message: (error as Error).message });
      }
    });
  serve('', 'whatsapp-console.html');
  serve('/whatsapp-console.js', 'whatsapp-console.js');
  serve('/whatsapp-console.css', 'whatsapp-console.css');
}
