import { runDemo } from './demo/demo-runner';
import { DEMO_USAGE, parseDemoOptions } from './demo/demo-options';

/**
 * `npm run demo`: the first five minutes with chat-gateway. Starts the service, both contact-center simulators and a
 * bot platform, runs a scripted escalation through Genesys PureEngage and through 8x8, prints the transcript with
 * timings, and exits 0 only when every expected step was observed. `--keep` leaves it all running (docs/demo.md).
 */
async function main(): Promise<void> {
  let options;
  try {
    options = parseDemoOptions(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${DEMO_USAGE}\n`);
    process.exit(2);
  }
  if (options.help) {
    process.stdout.write(`${DEMO_USAGE}\n`);
    return;
  }
  const code = await runDemo(options);
  process.exit(code);
}

main().catch((error: Error) => {
  process.stderr.write(`demo failed: ${error.stack ?? error.message}\n`);
  process.exit(1);
});
