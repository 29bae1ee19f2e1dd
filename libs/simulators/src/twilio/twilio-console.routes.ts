import { AgentConsoleAssets } from '../console/agent-console.assets';
import { send, SimulatorRouter } from '../http/simulator-http';

export const TWILIO_CONSOLE_PATH = '/console';

const TYPES: Record<string, string> = { html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' };
// Everything comes from the simulator itself (no CDN), as for the other consoles.
const HEADERS = {
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'self'; img-src 'self' data: blob:; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
};

/**
 * The phone console at `/console`: a person plays a mobile phone texting a business number. Its files sit with the
 * other consoles' (libs/simulators/src/console/assets) and act through the control API.
 */
export function registerTwilioConsoleRoutes(router: SimulatorRouter, assets = new AgentConsoleAssets()): void {
  const serve = (path: string, file: string) =>
    router.on('GET', `${TWILIO_CONSOLE_PATH}${path}`, (_req, res) => {
      try {
        send(res, 200, assets.read(file), TYPES[file.slice(file.lastIndexOf('.') + 1)], HEADERS);
      } catch (error) {
        send(res, 500, { message: (error as Error).message });
      }
    });
  serve('', 'twilio-console.html');
  serve('/twilio-console.js', 'twilio-console.js');
  serve('/twilio-console.css', 'twilio-console.css');
}
