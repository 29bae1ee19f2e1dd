import { execSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { withDatabase } from '../support/test-app';

const ROOT = resolve(__dirname, '..', '..');
const DEMO = join(ROOT, 'dist', 'scripts', 'demo.js');

/** Newest modification time of the TypeScript the build compiles. */
function newestSourceMtime(dir = ROOT, folders = ['src', 'libs', 'scripts']): number {
  let newest = 0;
  const walk = (path: string) => {
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const child = join(path, entry.name);
      if (entry.isDirectory()) walk(child);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts')) newest = Math.max(newest, statSync(child).mtimeMs);
    }
  };
  for (const folder of folders) walk(join(dir, folder));
  return newest;
}

function runDemo(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolveRun) => {
    const child = spawn(process.execPath, [DEMO, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => resolveRun({ code, output }));
  });
}

/** The service URL the demo printed; after the demo exits nothing may answer there any more. */
async function serviceStillAnswers(output: string): Promise<boolean> {
  const url = /service \(API \+ worker\) ready at (http:\/\/\S+),/.exec(output)?.[1];
  if (!url) return false;
  return fetch(`${url}/health/live`, { signal: AbortSignal.timeout(2_000) })
    .then(() => true)
    .catch(() => false);
}

/** Whether the database the demo printed it ran on still exists. */
async function databaseRemains(output: string): Promise<boolean> {
  const database = /database (chat_gateway_demo_\w+), Redis prefix/.exec(output)?.[1];
  if (!database) throw new Error('the demo did not say which database it ran on');
  const { rows } = await withDatabase((client) => client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]), 'postgres://postgres@127.0.0.1:5432/postgres');
  return rows.length > 0;
}

describe('npm run demo', () => {
  beforeAll(() => {
    if (!existsSync(DEMO) || statSync(DEMO).mtimeMs < newestSourceMtime()) execSync('npm run -s build', { cwd: ROOT, stdio: 'pipe' });
  }, 180_000);

  it('runs scripted escalations through GMS and 8x8, a web chat handed to GMS and back, a conversation pushed to Teams, a WhatsApp template pushed and answered, and exits 0 when the bot saw every step', async () => {
    // Each run on a database and Redis prefix of its own, removed at its end: a person's `npm run demo -- --keep`
    // survives the test suite, and two test runs at once do not meet.
    const { code, output } = await runDemo([]);
    if (code !== 0) process.stderr.write(output);
    expect(code).toBe(0);
    expect(output).toContain('== Genesys PureEngage through the GMS Chat API v2 simulator ==');
    expect(output).toContain('== 8x8 Contact Center through the 8x8 Chat Gateway simulator ==');
    expect(output).toMatch(/PASS: all \d+ steps observed/);
    for (const platform of ['GMS', '8x8']) {
      // What reached the bot, with the time since start: history/attributes passed, agents, typing, file, transfer, end.
      for (const event of ['queued', 'agent_joined', 'agent_typing_started', 'agent_message', 'agent_typing_stopped', 'attachment', 'agent_left']) {
        expect(output).toMatch(new RegExp(`\\d+ ms  ${platform}  -> bot  #\\d+ ${event}`));
      }
      expect(output).toMatch(new RegExp(`${platform}  -> bot  #\\d+ ended  by agent.*control back to the bot: yes`));
      expect(output).toMatch(new RegExp(`${platform}  bot     escalates .* 3 history entries, attributes Intent=`));
    }
    // Web chat: the demo bot answers, hands the conversation to GMS, and has it back after the agent's close.
    expect(output).toContain('== Web chat over Direct Line 3.0, handed to GMS and back ==');
    expect(output).toMatch(/Web  -> bot  #\d+ user_message  Ada: "Hi there"/);
    expect(output).toMatch(/Web  user    sees Demo bot: "You said "Hi there"/);
    expect(output).toMatch(/Web  user    sees Grace: "Hi Ada, Grace here. How can I help\?"/);
    expect(output).toMatch(/Web  -> bot  #\d+ ended  by agent.*control back to the bot: yes/);
    expect(output).toMatch(/Web  user    sees Demo bot: "The bot again/);
    // Teams: a pushed conversation answered in Teams, a notification, and one refused after the uninstall.
    expect(output).toContain('== Microsoft Teams through the Bot Framework simulator: a pushed conversation and a notification ==');
    expect(output).toMatch(/Teams  -> bot  #\d+ user_reachability  Ana Lopez reachable/);
    expect(output).toMatch(/Teams  user    sees in Teams: "Your new laptop is ready\. Do you want to book a pick-up slot\?" \[Yes, book it\] \[Later\]/);
    expect(output).toMatch(/Teams  -> bot  #\d+ user_message  Ana Lopez: "Yes, book it"/);
    expect(output).toMatch(/Teams  user    sees Demo bot: "You said "Yes, book it"/);
    expect(output).toMatch(/Teams  -> bot  #\d+ user_reachability  Ana Lopez not reachable \(not_installed\)/);
    expect(output).toMatch(/Teams  bot     the next notification is refused: 422 not_installed/);
    expect(output.match(/Teams  -> bot  #\d+ user_reachability/g)).toHaveLength(2);
    // WhatsApp: text outside the window refused, a template pushed, its button pressed, the bot's answer on the phone.
    expect(output).toContain('== WhatsApp through the Cloud API simulator: a template pushed and answered ==');
    expect(output).toMatch(/WhatsApp  bot     free-form text to \+34600123456 is refused: 422 template_required/);
    expect(output).toMatch(/WhatsApp  user    sees on WhatsApp: "Hi Ana, your new laptop is ready\. Book a pick-up slot\?" \[Yes, book it\] \[Later\]/);
    expect(output).toMatch(/WhatsApp  -> bot  #\d+ user_message  Ana Lopez: "Yes, book it"/);
    expect(output).toMatch(/WhatsApp  user    sees Demo bot: "You said "Yes, book it"/);
    expect(output).toMatch(/8x8  -> bot  #\d+ transferred/);
    expect(output).toMatch(/8x8  -> bot  #\d+ queued  queue Cards \(102\)/);
    expect(output).toMatch(/GMS  -> bot  #\d+ notice  "The chat has been transferred to card-services/);
    expect(await serviceStillAnswers(output)).toBe(false);
    expect(await databaseRemains(output)).toBe(false);
  }, 150_000);

  it('exits 1 naming the step it missed when the total timeout cuts the script short, and stops the service', async () => {
    const { code, output } = await runDemo(['--timeout', '10']);
    expect(code).toBe(1);
    expect(output).toMatch(/FAIL after \d+\.\d s\. Missing:\n {2}- (set-up|GMS|8x8): .+/);
    expect(output).not.toContain('PASS:');
    expect(await serviceStillAnswers(output)).toBe(false);
  }, 60_000);
});
