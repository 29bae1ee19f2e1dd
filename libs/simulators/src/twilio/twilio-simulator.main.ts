import { TwilioSimulator } from './twilio-simulator';

/**
 * Stand-alone Twilio SMS simulator (REST API + webhooks + phone console):
 *   PORT=3981 TWILIO_ACCOUNT_SID=AC... TWILIO_AUTH_TOKEN=... TWILIO_NUMBER=+14155550100 \
 *     TWILIO_SMS_URL=http://127.0.0.1:3000/v1/webhooks/<gatewayId> npm run simulator:twilio
 * Without TWILIO_NUMBER no number is set up (use POST /control/accounts and /control/numbers). The first line printed
 * is `Twilio simulator listening on <base URL>`; scripts read it to find the port.
 */
async function main(): Promise<void> {
  const env = process.env;
  const twilio = new TwilioSimulator({ host: env.HOST });
  const baseUrl = await twilio.start(env.PORT === undefined ? 3981 : Number(env.PORT));
  const lines = [`Twilio simulator listening on ${baseUrl}`, `  API base URL: ${twilio.apiBaseUrl}`];
  if (env.TWILIO_NUMBER) {
    const account = twilio.addAccount({ accountSid: env.TWILIO_ACCOUNT_SID, authToken: env.TWILIO_AUTH_TOKEN });
    twilio.addNumber(account.accountSid, { phoneNumber: env.TWILIO_NUMBER, smsUrl: env.TWILIO_SMS_URL ?? 'http://127.0.0.1:3000/v1/webhooks/twilio' });
    lines.push(`  account:      ${account.accountSid} (auth token ${env.TWILIO_AUTH_TOKEN ? 'as given' : account.authToken})`, `  number:       ${env.TWILIO_NUMBER} -> ${env.TWILIO_SMS_URL ?? 'http://127.0.0.1:3000/v1/webhooks/twilio'}`);
  }
  lines.push(`  control API:  ${baseUrl}/control/status  (see docs/simulators/twilio.md)`, `  console:      ${baseUrl}/console`, '');
  process.stdout.write(lines.join('\n'));
  const shutdown = () => void twilio.stop().then(() => process.exit(0));
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((error: Error) => {
  process.stderr.write(`Twilio simulator failed to start: ${error.message}\n`);
  process.exit(1);
});
