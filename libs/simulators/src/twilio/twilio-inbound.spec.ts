import { twilioSignature, withDefaultPort, withoutPort } from './twilio-signature';
import { TwilioSimulator } from './twilio-simulator';
import { BUSINESS, PHONE, rest, WebhookEndpointDouble } from './twilio-simulator.spec-helpers';

describe('Twilio simulator: messages from the phone to the business', () => {
  let twilio: TwilioSimulator;
  let endpoint: WebhookEndpointDouble;
  let auth: { accountSid: string; authToken: string };
  let smsUrl: string;

  beforeEach(async () => {
    endpoint = new WebhookEndpointDouble();
    smsUrl = `${await endpoint.start()}/v1/webhooks/gw?tenant=a&x=%27q%27`;
    twilio = new TwilioSimulator();
    await twilio.start();
    auth = twilio.addAccount();
    twilio.addNumber(auth.accountSid, { phoneNumber: BUSINESS, smsUrl });
  });
  afterEach(async () => {
    await twilio.settled();
    await twilio.stop();
    await endpoint.stop();
  });

  const send = (body: string) => rest(twilio, auth, 'POST', '/Messages.json', { To: PHONE, From: BUSINESS, Body: body });

  it('POSTs the documented form, signed over the configured URL with its query string', async () => {
    const sent = await twilio.sendSms(PHONE, BUSINESS, 'Hi there + welcome');
    expect(sent).toMatchObject({ status: 200, body: expect.stringContaining('<Response/>'), messageSid: expect.stringMatching(/^SM[0-9a-f]{32}$/) });
    const [delivery] = endpoint.received;
    expect(delivery.url).toBe(smsUrl);
    expect(delivery.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/);
    expect(delivery.form).toMatchObject({
      MessageSid: sent.messageSid,
      SmsSid: sent.messageSid,
      SmsMessageSid: sent.messageSid,
      AccountSid: auth.accountSid,
      From: PHONE,
      To: BUSINESS,
      Body: 'Hi there + welcome',
      NumMedia: '0',
      NumSegments: '1',
      SmsStatus: 'received',
      ApiVersion: '2010-04-01',
    });
    expect(delivery.form.OptOutType).toBeUndefined();
    expect(delivery.headers['x-twilio-signature']).toBe(twilioSignature(auth.authToken, smsUrl, delivery.params));
    expect(twilio.webhooks[0]).toMatchObject({ kind: 'inbound', url: smsUrl, httpStatus: 200 });
  });

  it('signs the URL with the default port added or removed when asked, and spoils signatures in each fault mode', async () => {
    await twilio.sendSms(PHONE, BUSINESS, 'a', { portVariant: 'with_default_port' });
    await twilio.sendSms(PHONE, BUSINESS, 'b', { signatureFault: 'bad_signature' });
    await twilio.sendSms(PHONE, BUSINESS, 'c', { signatureFault: 'wrong_url' });
    await twilio.sendSms(PHONE, BUSINESS, 'd', { signatureFault: 'no_signature' });
    await twilio.sendSms(PHONE, BUSINESS, 'e', { signatureFault: 'tampered' });
    const [ported, bad, wrongUrl, none, tampered] = endpoint.received;
    expect(ported.headers['x-twilio-signature']).toBe(twilioSignature(auth.authToken, withDefaultPort(smsUrl), ported.params));
    expect(withDefaultPort('https://gw.example.com/x?y=1')).toBe('https://gw.example.com:443/x?y=1');
    expect(withoutPort('https://gw.example.com:443/x?y=1')).toBe('https://gw.example.com/x?y=1');
    for (const spoiled of [bad, wrongUrl, tampered]) expect(spoiled.headers['x-twilio-signature']).not.toBe(twilioSignature(auth.authToken, smsUrl, spoiled.params));
    expect(tampered.form.Body).toBe('e (changed)');
    expect(none.headers['x-twilio-signature']).toBeUndefined();
  });

  it('delivers to a proxy address while signing the public URL it was configured with', async () => {
    const publicUrl = 'https://gw.example.com/v1/webhooks/gw?tenant=a';
    twilio.setSmsUrl(BUSINESS, publicUrl, `${endpoint.origin}/behind-proxy`);
    await twilio.sendSms(PHONE, BUSINESS, 'hello');
    const [delivery] = endpoint.received;
    expect(delivery.url).toBe(`${endpoint.origin}/behind-proxy`);
    expect(delivery.headers['x-twilio-signature']).toBe(twilioSignature(auth.authToken, publicUrl, delivery.params));
  });

  it('hosts MMS media: a redirect to the media URL given, or the content itself, public by default', async () => {
    const sent = await twilio.sendSms(PHONE, BUSINESS, 'look', { mediaUrls: ['https://cdn.example.com/cat.png'], media: [{ contentType: 'application/pdf', content: '%PDF-1.4' }] });
    expect(sent.messageSid).toMatch(/^MM/);
    const { form } = endpoint.received[0];
    expect(form).toMatchObject({ NumMedia: '2', MediaContentType0: 'image/png', MediaContentType1: 'application/pdf' });
    expect(form.MediaUrl0).toMatch(new RegExp(`^${twilio.baseUrl}/2010-04-01/Accounts/${auth.accountSid}/Messages/${sent.messageSid}/Media/ME[0-9a-f]{32}$`));
    const redirect = await fetch(form.MediaUrl0, { redirect: 'manual' });
    expect([redirect.status, redirect.headers.get('location')]).toEqual([307, 'https://cdn.example.com/cat.png']);
    const pdf = await fetch(form.MediaUrl1);
    expect([pdf.status, pdf.headers.get('content-type'), await pdf.text()]).toEqual([200, 'application/pdf', '%PDF-1.4']);
  });

  it('asks Basic auth for media when the account says so', async () => {
    const locked = twilio.addAccount({ mediaBasicAuth: true });
    twilio.addNumber(locked.accountSid, { phoneNumber: '+14155550111', smsUrl });
    await twilio.sendSms(PHONE, '+14155550111', '', { media: [{ contentType: 'image/gif', content: 'GIF89a' }] });
    const url = endpoint.received[0].form.MediaUrl0;
    expect((await fetch(url)).status).toBe(401);
    const authorized = await fetch(url, { headers: { authorization: `Basic ${Buffer.from(`${locked.accountSid}:${locked.authToken}`).toString('base64')}` } });
    expect(authorized.status).toBe(200);
  });

  it('STOP (any synonym, any case, with punctuation) opts out, auto-replies, forwards with OptOutType, and blocks sends with 21610', async () => {
    expect((await send('before')).status).toBe(201);
    await twilio.sendSms(PHONE, BUSINESS, '  unsubscribe! ');
    expect(endpoint.received[0].form).toMatchObject({ Body: '  unsubscribe! ', OptOutType: 'STOP' });
    expect(twilio.optedOut(BUSINESS, PHONE)).toBe(true);
    expect(twilio.messagesTo(PHONE).map((m) => [m.direction, m.body.slice(0, 40)])).toEqual([
      ['outbound-api', 'before'],
      ['outbound-reply', 'You have successfully been unsubscribed.'],
    ]);
    expect(await send('after')).toMatchObject({ status: 400, body: { code: 21610, message: 'Attempt to send to unsubscribed recipient' } });

    await twilio.sendSms(PHONE, BUSINESS, 'HELP');
    expect(twilio.messagesTo(PHONE)).toHaveLength(2); // no HELP answer while opted out
    expect(endpoint.received[1].form.OptOutType).toBe('HELP');

    await twilio.sendSms(PHONE, BUSINESS, 'Unstop');
    expect(endpoint.received[2].form.OptOutType).toBe('START');
    expect(twilio.optedOut(BUSINESS, PHONE)).toBe(false);
    expect(twilio.messagesTo(PHONE).at(-1)!.body).toMatch(/^You have successfully been re-subscribed/);
    expect((await send('welcome back')).status).toBe(201);

    await twilio.sendSms(PHONE, BUSINESS, 'info');
    expect(twilio.messagesTo(PHONE).at(-1)!.body).toBe('Reply STOP to unsubscribe. Msg&Data Rates May Apply.');
  });

  it.each(['STOP', 'stopall', 'Cancel', 'END', 'quit', 'REVOKE', 'optout'])('treats %s as an opt-out, and "STOP PLEASE" as an ordinary message', async (word) => {
    await twilio.sendSms(PHONE, BUSINESS, word);
    expect(twilio.optedOut(BUSINESS, PHONE)).toBe(true);
    await twilio.sendSms('+14155550124', BUSINESS, 'STOP PLEASE');
    expect(twilio.optedOut(BUSINESS, '+14155550124')).toBe(false);
    expect(endpoint.received[1].form.OptOutType).toBeUndefined();
  });

  it('keeps the opt-out for the whole Messaging Service its number is in', async () => {
    twilio.addNumber(auth.accountSid, { phoneNumber: '+14155550101', smsUrl });
    const service = twilio.addMessagingService(auth.accountSid, { phoneNumbers: [BUSINESS, '+14155550101'] });
    await twilio.sendSms(PHONE, BUSINESS, 'STOP');
    expect(endpoint.received[0].form.MessagingServiceSid).toBe(service.sid);
    expect(twilio.optedOut(service.sid, PHONE)).toBe(true);
    expect(twilio.optedOut('+14155550101', PHONE)).toBe(true);
    expect((await rest(twilio, auth, 'POST', '/Messages.json', { To: PHONE, MessagingServiceSid: service.sid, Body: 'x' })).body.code).toBe(21610);
  });

  it('reports a webhook that does not answer as status 0, and the gateway\'s non-2xx as it was', async () => {
    endpoint.answer = () => 403;
    expect((await twilio.sendSms(PHONE, BUSINESS, 'x')).status).toBe(403);
    twilio.setSmsUrl(BUSINESS, 'http://127.0.0.1:1/nothing-here');
    expect((await twilio.sendSms(PHONE, BUSINESS, 'x')).status).toBe(0);
  });
});
