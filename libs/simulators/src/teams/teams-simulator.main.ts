import { TeamsSimulator } from './teams-simulator';

/**
 * Stand-alone Teams simulator (Teams + Bot Connector + Bot Framework token and key services):
 *   PORT=3979 BOT_APP_ID=... BOT_APP_SECRET=... BOT_TENANT_ID=... BOT_MESSAGING_ENDPOINT=http://127.0.0.1:3000/api/teams/messages \
 *     npm run simulator:teams
 * Without BOT_APP_ID no bot is registered (register one with POST /control/bots). The first line printed is
 * `Teams simulator listening on <base URL>`; scripts read it to find the port.
 */
async function main(): Promise<void> {
  const env = process.env;
  const teams = new TeamsSimulator({ host: env.HOST });
  const baseUrl = await teams.start(env.PORT === undefined ? 3979 : Number(env.PORT));
  if (env.BOT_APP_ID) {
    teams.registerBot({
      appId: env.BOT_APP_ID,
      name: env.BOT_NAME,
      secret: env.BOT_APP_SECRET,
      tenantId: env.BOT_TENANT_ID ?? 'simulated-tenant',
      messagingEndpoint: env.BOT_MESSAGING_ENDPOINT ?? 'http://127.0.0.1:3000/api/teams/messages',
    });
  }
  process.stdout.write(
    [
      `Teams simulator listening on ${baseUrl}`,
      `  OpenID metadata: ${teams.openIdMetadataUrl}`,
      `  token endpoint:  ${teams.tokenEndpointTemplate}`,
      `  service URL:     ${teams.serviceUrl()}`,
      `  control API:     ${baseUrl}/control/status  (see docs/simulators/teams.md)`,
      `  console:         ${baseUrl}/console`,
      '',
    ].join('\n'),
  );
  const shutdown = () => void teams.stop().then(() => process.exit(0));
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((error: Error) => {
  process.stderr.write(`Teams simulator failed to start: ${error.message}\n`);
  process.exit(1);
});
