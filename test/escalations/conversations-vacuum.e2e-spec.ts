import { Client } from 'pg';
import { ConversationsVacuum } from '../../src/escalations/conversations-vacuum.service';
import { fakeGateway, fakeSuite } from './fake-setup';

const THRESHOLD = 300;

describe('conversations vacuum', () => {
  const suite = fakeSuite({ CONVERSATIONS_VACUUM_DEAD_ROWS: String(THRESHOLD) });
  const { platform, receiver } = suite;
  let conversationId: string;

  async function sql<T>(work: (client: Client) => Promise<T>): Promise<T> {
    const client = new Client({ connectionString: process.env.DATABASE_URL });
    await client.connect();
    try {
      return await work(client);
    } finally {
      // A session's statistics reach the shared counters at the latest when it ends.
      await client.end();
    }
  }

  const stats = () =>
    sql(async (client) => {
      const { rows } = await client.query<{ dead: number; vacuums: number }>(
        `SELECT n_dead_tup::int AS dead, vacuum_count::int AS vacuums FROM pg_stat_user_tables WHERE relid = 'conversations'::regclass`,
      );
      return rows[0];
    });

  /** Updates the conversation as ingest and delivery do: sequence numbers changed, so not HOT, one dead version each. */
  const churn = (times: number) =>
    sql(async (client) => {
      for (let i = 0; i < times; i++) {
        await client.query(`UPDATE conversations SET last_seq = last_seq + 1, delivered_seq = delivered_seq + 1 WHERE id = $1`, [conversationId]);
      }
    });

  const vacuumsCounted = async () =>
    Number(/^chat_gateway_conversation_vacuums_total (\d+)$/m.exec((await suite.t.request('GET', '/metrics', { key: null })).text)?.[1]);

  beforeAll(async () => {
    const { domainId } = await fakeGateway(suite.t, platform, receiver);
    conversationId = await sql(async (client) => {
      const { rows } = await client.query<{ id: string }>(
        `INSERT INTO conversations (domain_id, external_id, channel) VALUES ($1, 'vacuumed', 'web') RETURNING id`,
        [domainId],
      );
      return rows[0].id;
    });
  });

  it('leaves the table alone below the threshold', async () => {
    const before = await stats();
    await churn(THRESHOLD / 3);
    const check = await suite.t.app.get(ConversationsVacuum).runOnce();
    expect(check).toEqual({ dead: expect.any(Number), vacuumed: false });
    expect(check!.dead).toBeGreaterThanOrEqual(THRESHOLD / 3);
    expect((await stats()).vacuums).toBe(before.vacuums);
    expect(await vacuumsCounted()).toBe(0);
  });

  it("vacuums on a worker's own schedule once the dead versions reach the threshold, and counts it", async () => {
    const before = await stats();
    await churn(THRESHOLD);
    // The check runs every 2 s.
    const deadline = Date.now() + 15_000;
    let after = await stats();
    while (after.vacuums === before.vacuums && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      after = await stats();
    }
    expect(after.vacuums).toBeGreaterThan(before.vacuums);
    expect(after.dead).toBeLessThan(THRESHOLD);
    expect(await vacuumsCounted()).toBeGreaterThanOrEqual(1);
    // The row is intact.
    const [row] = await sql(async (client) => (await client.query(`SELECT last_seq, delivered_seq FROM conversations WHERE id = $1`, [conversationId])).rows);
    expect(row).toEqual({ last_seq: THRESHOLD / 3 + THRESHOLD, delivered_seq: THRESHOLD / 3 + THRESHOLD });
  }, 20_000);
});
