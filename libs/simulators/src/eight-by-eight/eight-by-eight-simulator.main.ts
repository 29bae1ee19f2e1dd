import { parseArgs } from '../http/simulator-http';
import { EightByEightSimulator } from './eight-by-eight-simulator';

/**
 * Stand-alone 8x8 simulator:
 *   npm run simulator:8x8 -- --port 8088 --api-key K [--tenant-id T] [--customer-id C] [--api-secret S]
 *     [--host H] [--public-base-url U] [--retry-delays 200,1000,5000] [--legacy-events]
 *     [--queues 101:Support,102:Sales] [--available 2] [--auto-accept-ms 2000] [--validate true|false]
 * The first line printed is the base URL; it runs until SIGINT or SIGTERM.
 */
const USAGE = `Usage: npm run simulator:8x8 -- [options]
  --port N                 port (default: a free one)
  --host H                 interface (default 127.0.0.1; 0.0.0.0 in a container)
  --api-key K              expected x-api-key, also the metrics OAuth client id (default sim-api-key)
  --api-secret S           metrics OAuth client secret (default sim-api-secret)
  --tenant-id T            tenant id (default tenant01)
  --customer-id C          customer id (default customer01)
  --public-base-url U      base URL for pre-signed attachment links
  --retry-delays a,b,c     webhook retry delays in ms (default 200,1000,5000)
  --legacy-events          send retired Chat API v2 events
  --queues id:name,...     known queues
  --available N            available agents in each of those queues (metrics)
  --auto-accept-ms N       an agent accepts queued conversations after N ms
  --validate true|false    OpenAPI request validation (default: when the document is found)
See docs/simulators/8x8.md.
`;

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args['help'] !== undefined) {
    process.stdout.write(USAGE);
    return;
  }
  const available = args['available'] === undefined ? 0 : Number(args['available']);
  const queues = (args['queues'] ?? '')
    .split(',')
    .filter(Boolean)
    .map((entry) => {
      const [id, ...name] = entry.split(':');
      return { id, name: name.join(':') || undefined, agents: { available } };
    });
  const simulator = new EightByEightSimulator({
    apiKey: args['api-key'],
    apiSecret: args['api-secret'],
    tenantId: args['tenant-id'],
    customerId: args['customer-id'],
    host: args['host'],
    publicBaseUrl: args['public-base-url'],
    retryDelaysMs: args['retry-delays']?.split(',').map(Number),
    legacyEvents: args['legacy-events'] === 'true',
    queues,
    autoAccept: args['auto-accept-ms'] === undefined ? undefined : { afterMs: Number(args['auto-accept-ms']) },
    validateRequests: args['validate'] === undefined ? undefined : args['validate'] === 'true',
  });
  const url = await simulator.start(args['port'] === undefined ? 0 : Number(args['port']));
  process.stdout.write(`8x8 simulator listening on ${url}\n`);
  process.stdout.write(`  api key ${simulator.apiKey}, tenant ${simulator.tenantId}, customer ${simulator.customerId}; control API at ${url}/sim\n`);
  const shutdown = () => {
    void simulator.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((error: Error) => {
  process.stderr.write(`8x8 simulator failed to start: ${error.message}\n`);
  process.exit(1);
});
