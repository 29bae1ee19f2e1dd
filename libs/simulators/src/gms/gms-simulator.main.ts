import { readFileSync } from 'node:fs';
import { parseArgs } from '../http/simulator-http';
import { GmsSimulator } from './gms-simulator';
import { GmsSimulatorOptions } from './gms-simulator.options';

/**
 * Stand-alone GMS simulator:
 *   npm run simulator:gms -- --port 8080 [--service-name customer-support] [--basic-user U --basic-password P]
 *     [--flex-disconnect-seconds 45] [--timeout-alert-seconds 255] [--timeout-close-seconds 45] [--context-path /genesys/2/chat/]
 *     [--operation-paths startTyping=typingStart,stopTyping=typingStop] [--rotate-alias-every N] [--capture-requests]
 *     [--bearer-client-id ID (--bearer-client-secret S | --bearer-client-certificate cert.pem) --bearer-tenant T --bearer-scope S]
 *     [--tls-key key.pem --tls-cert cert.pem] [--host 0.0.0.0]
 * The first line printed is `GMS simulator listening on <base URL>`; scripts read it to find the port.
 */
async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.help) {
    process.stdout.write(`${(readFileSync(__filename, 'utf8').match(/\/\*\*([\s\S]*?)\*\//)?.[1] ?? '').replace(/^ \* ?/gm, '')}\n`);
    return;
  }
  const simulator = new GmsSimulator(optionsFrom(args));
  const baseUrl = await simulator.start(args.port === undefined ? 0 : Number(args.port));
  const lines = [
    `GMS simulator listening on ${baseUrl}`,
    `  chat API:    ${simulator.chatServiceUrl()}  (POST, any service name${simulator.options.serviceNames.length ? ` of ${simulator.options.serviceNames.join(', ')}` : ''})`,
    `  control API: ${baseUrl}/sim/chats  (see docs/simulators/gms.md)`,
  ];
  if (simulator.options.bearerAuth) lines.push(`  authority:   ${simulator.authorityUrl()}  (token endpoint ${simulator.authorityUrl()}/oauth2/v2.0/token)`);
  process.stdout.write(`${lines.join('\n')}\n`);
  const shutdown = () => void simulator.stop().then(() => process.exit(0));
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

function optionsFrom(args: Record<string, string>): GmsSimulatorOptions {
  const number = (name: string) => (args[name] === undefined ? undefined : Number(args[name]));
  const file = (name: string) => (args[name] === undefined ? undefined : readFileSync(args[name], 'utf8'));
  const options: GmsSimulatorOptions = {
    contextPath: args['context-path'],
    serviceNames: args['service-name'] ? args['service-name'].split(',') : undefined,
    flexDisconnectSeconds: number('flex-disconnect-seconds'),
    timeoutAlertSeconds: number('timeout-alert-seconds'),
    timeoutCloseSeconds: number('timeout-close-seconds'),
    rotateAliasEvery: number('rotate-alias-every'),
    captureRequests: args['capture-requests'] === 'true',
    host: args.host,
  };
  if (args['operation-paths']) {
    options.operationPaths = Object.fromEntries(args['operation-paths'].split(',').map((pair) => pair.split('=', 2)));
  }
  if (args['basic-user'] !== undefined || args['basic-password'] !== undefined) {
    options.basicAuth = { username: args['basic-user'] ?? '', password: args['basic-password'] ?? '', realm: args['basic-realm'] };
  }
  if (args['bearer-client-id']) {
    options.bearerAuth = {
      clientId: args['bearer-client-id'],
      clientSecret: args['bearer-client-secret'],
      clientCertificate: file('bearer-client-certificate'),
      tenantId: args['bearer-tenant'],
      scope: args['bearer-scope'],
    };
  }
  if (args['tls-key'] && args['tls-cert']) options.tls = { key: file('tls-key')!, cert: file('tls-cert')! };
  return options;
}

main().catch((error: Error) => {
  process.stderr.write(`GMS simulator failed to start: ${error.message}\n`);
  process.exit(1);
});
