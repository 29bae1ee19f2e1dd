import { WhatsAppSimulator } from './whatsapp-simulator';

/**
 * Stand-alone WhatsApp Cloud API simulator:
 *   PORT=3982 WA_CALLBACK_URL=http://127.0.0.1:3000/v1/webhooks/<gateway id> WA_ACCESS_TOKEN=... WA_APP_SECRET=... \
 *     WA_VERIFY_TOKEN=... WA_PHONE_NUMBER_ID=... WA_WABA_ID=... npm run simulator:whatsapp
 * Without WA_CALLBACK_URL no business is registered (register one with POST /control/businesses). The first line
 * printed is `WhatsApp simulator listening on <base URL>`; scripts read it to find the port.
 */
async function main(): Promise<void> {
  const env = process.env;
  const whatsapp = new WhatsAppSimulator({
    host: env.HOST,
    graphVersion: env.WA_GRAPH_VERSION,
    ...(env.WA_THROUGHPUT ? { throughputPerSecond: Number(env.WA_THROUGHPUT) } : {}),
  });
  const baseUrl = await whatsapp.start(env.PORT === undefined ? 3982 : Number(env.PORT));
  const lines = [`WhatsApp simulator listening on ${baseUrl}`, `  Graph API:   ${whatsapp.graphBaseUrl}/${whatsapp.graphVersion}`];
  if (env.WA_CALLBACK_URL) {
    const business = whatsapp.addBusiness({
      callbackUrl: env.WA_CALLBACK_URL,
      accessToken: env.WA_ACCESS_TOKEN,
      appSecret: env.WA_APP_SECRET,
      verifyToken: env.WA_VERIFY_TOKEN,
      phoneNumberId: env.WA_PHONE_NUMBER_ID,
      wabaId: env.WA_WABA_ID,
    });
    lines.push(`  business:    phone number id ${business.phoneNumberId}, WABA ${business.wabaId}`);
  }
  lines.push(`  control API: ${baseUrl}/control/status  (see docs/simulators/whatsapp.md)`, `  console:     ${baseUrl}/console`, '');
  process.stdout.write(lines.join('\n'));
  const shutdown = () => void whatsapp.stop().then(() => process.exit(0));
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((error: Error) => {
  process.stderr.write(`WhatsApp simulator failed to start: ${error.message}\n`);
  process.exit(1);
});
