import { ConversationsVacuum } from '../../src/conversations/conversations-vacuum.service';
import { waitFor } from '../support/bot-receiver';
import { resetState, startTestApp, TestApp, withDatabase as sql } from '../support/test-app';
import { fakeGateway, fakeSuite } from './fake-setup';

const THRESHOLD = 300;

const stats = () =>
  sql(async (client) => {
    const { rows } = await client.query<{ dead: number; vacuums: number }>(
      `SELECT n_dead_tup::int AS dead, vacuum_count::int AS vacuums FROM pg_stat_user_tables WHERE relid = 'conversations'::regclass`,
    );
    return rows[0];
  });

describe('conversations vacuum', () => {
  const suite = fakeSuite({ CONVERSATIONS_VACUUM_DEAD_ROWS: String(THRESHOLD) });
  const { platform, receiver } = suite;
  let conversationId: string;

  /** Updates the conversation as ingest and delivery do: sequence numbers changed, so not HOT, one dead version each. */
  const churn = (times: number) =>
    sql(async (client) => {
      for (let i = 0; i < times; i++) {
        await client.query(`UPDATE conversations SET last_seq = last_seq + 1, delivered_seq = delivered_seq + 1 WHERE id = $1`, [conversationId]);
      }
    });

  const vacuumsCounted = async () =>
    Number(/^chat_gateway_conversation_vacuums_total (\d+)$/m.exec((await suite.t.request('GET', '/metrics')).text)?.[1]);

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
    // The check runs every 2 s: until PostgreSQL counts a vacuum of the table.
    const after = await waitFor('a vacuum of conversations', async () => {
      const now = await stats();
      return now.vacuums > before.vacuums ? now : null;
    }, 15_000, 250);
    expect(after.vacuums).toBeGreaterThan(before.vacuums);
    expect(after.dead).toBeLessThan(THRESHOLD);
    expect(await vacuumsCounted()).toBeGreaterThanOrEqual(1);
    // The row is intact.
    const [row] = await sql(async (client) => (await client.query(`SELECT last_seq, delivered_seq FROM conversations WHERE id = $1`, [conversationId])).rows);
    expect(row).toEqual({ last_seq: THRESHOLD / 3 + THRESHOLD, delivered_seq: THRESHOLD / 3 + THRESHOLD });
  }, 20_000);
});

describe('conversations vacuum, the service connected as a user that does not own the tables', () => {
  // Roles belong to the whole server: one per Jest worker.
  const role = `cg_not_owner_${process.env.TEST_NAMESPACE ?? ''}${process.env.JEST_WORKER_ID ?? '1'}`;
  let t: TestApp;

  beforeAll(async () => {
    await resetState();
    await sql(async (client) => {
      const { rowCount } = await client.query(`SELECT 1 FROM pg_roles WHERE rolname = $1`, [role]);
      if (!rowCount) await client.query(`CREATE ROLE ${role} LOGIN`);
      await client.query(`GRANT USAGE ON SCHEMA public TO ${role}`);
      await client.query(`GRANT ALL ON ALL TABLES IN SCHEMA public TO ${role}`);
      await client.query(`GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO ${role}`);
    });
    const url = new URL(process.env.DATABASE_URL!);
    url.username = role;
    t = await startTestApp({ DATABASE_URL: url.toString(), CONVERSATIONS_VACUUM_DEAD_ROWS: '1' });
  });
  afterAll(async () => {
    await t?.close();
    await sql(async (client) => {
      await client.query(`DROP OWNED BY ${role}`);
      await client.query(`DROP ROLE ${role}`);
    });
  });

  it('stops checking, leaving the table to autovacuum, and serves as before', async () => {
    const domain = await t.request('POST', '/v1/domains', { body: { name: `not-owner-${Date.now()}`, callbackUrl: 'http://127.0.0.1:9/cb' } });
    expect(domain.status).toBe(201);
    await sql(async (client) => {
      const { rows } = await client.query<{ id: string }>(
        `INSERT INTO conversations (domain_id, external_id, channel) VALUES ($1, 'not-vacuumed', 'web') RETURNING id`,
        [domain.body.id],
      );
      for (let i = 0; i < 20; i++) await client.query(`UPDATE conversations SET last_seq = last_seq + 1 WHERE id = $1`, [rows[0].id]);
    });
    const before = await stats();
    expect(before.dead).toBeGreaterThanOrEqual(20);
    expect(await t.app.get(ConversationsVacuum).runOnce()).toBeNull();
    expect((await stats()).vacuums).toBe(before.vacuums);
    expect((await t.request('GET', '/health/ready', { key: null })).status).toBe(200);
  });
});
