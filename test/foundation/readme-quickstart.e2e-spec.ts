import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GmsSimulator } from '@app/simulators/gms';
import { waitFor } from '../support/bot-receiver';
import { ADMIN_KEY, resetState, startTestApp, TestApp } from '../support/test-app';

/** The README's quickstart block, with the service, key and simulator of this test in place of the defaults. */
function quickstart(api: string, key: string, gms: string): string {
  const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
  const block = /<!-- quickstart:start -->\n```bash\n([\s\S]*?)```\n<!-- quickstart:end -->/.exec(readme)?.[1];
  if (!block) throw new Error('README.md has no quickstart block between its markers');
  const replaced = block.replace(/^KEY=.*$/m, `KEY=${key}`).replace(/^API=.*$/m, `API=${api}`).replace(/^GMS=.*$/m, `GMS=${gms}`);
  if ([`KEY=${key}`, `API=${api}`, `GMS=${gms}`].some((line) => !replaced.includes(line))) throw new Error('the quickstart no longer sets KEY, API and GMS');
  return replaced;
}

/**
 * A newcomer copies the README's quickstart into a shell: it must work as written, against the service and the GMS
 * simulator, and leave an escalation that went all the way.
 */
describe("the README's quickstart", () => {
  let t: TestApp;
  const gms = new GmsSimulator();

  beforeAll(async () => {
    await resetState();
    await gms.start();
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
    await gms.stop();
  });

  it('creates a domain and a gateway, escalates, plays the agent, relays the user and ends with the bot in control', async () => {
    const script = quickstart(t.url, ADMIN_KEY, gms.baseUrl);
    const output = await new Promise<string>((resolve, reject) =>
      execFile('bash', ['-euo', 'pipefail', '-c', script], { timeout: 60_000 }, (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stdout}\n${stderr}`)) : resolve(stdout))),
    );
    // Every answer of the API was a success.
    expect(output).not.toMatch(/"statusCode":\s*[45]\d\d/);
    expect(output).toMatch(/"signingSecret":"whsec_/);

    const escalations = await t.request('GET', '/v1/escalations?domain=acme');
    expect(escalations.body.items).toHaveLength(1);
    const id = escalations.body.items[0].id as string;
    const done = await waitFor('the escalation ended', async () => {
      const detail = await t.request('GET', `/v1/escalations/${id}`);
      return detail.body.state === 'ended' ? detail.body : null;
    });
    expect(done).toMatchObject({ control: 'bot', endedBy: 'agent' });
    const transcript = done.transcript as { type: string; data: { text?: string } }[];
    expect(transcript.map((event) => event.type)).toEqual(expect.arrayContaining(['queued', 'agent_joined', 'agent_message', 'agent_left', 'ended']));
    expect(transcript.find((event) => event.type === 'agent_message')?.data.text).toBe('Hello Ada, I am blocking the card now.');
    expect(done.relay).toEqual([expect.objectContaining({ kind: 'message', status: 'sent', payload: { text: 'Thank you!' } })]);
    const [chat] = gms.listChats();
    expect(gms.getChat(chat.chatId)?.transcript).toEqual(expect.arrayContaining([expect.objectContaining({ text: 'Thank you!' })]));
  }, 90_000);
});
