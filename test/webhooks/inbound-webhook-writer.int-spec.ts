import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { InboundWebhookRow, InboundWebhookWriter } from '../../src/inbound/inbound-webhook.writer';
import { resetState } from '../support/test-app';

/** The group-commit writer of the webhook intake, on a real PostgreSQL. */
describe('inbound webhook writer', () => {
  let pool: Pool;
  let gatewayId: string;
  let statements = 0;
  let writer: InboundWebhookWriter;

  beforeAll(async () => {
    await resetState();
    pool = new Pool({ connectionString: process.env.DATABASE_URL, max: 4 });
    const [{ id: domainId }] = (await pool.query(`INSERT INTO domains (name) VALUES ('writer') RETURNING id`)).rows;
    gatewayId = (await pool.query(`INSERT INTO gateways (type, name, domain_id, settings) VALUES ('8x8-chat-gateway', 'writer', $1, '{}') RETURNING id`, [domainId])).rows[0].id;
    // Counts the statements the writer sends.
    const counting = {
      query: (config: object) => {
        statements++;
        return pool.query(config as never);
      },
    } as unknown as Pool;
    writer = new InboundWebhookWriter(() => counting);
  });
  afterAll(() => pool.end());

  const row = (eventId: string, overrides: Partial<InboundWebhookRow> = {}): InboundWebhookRow => ({
    gatewayId,
    eventId,
    platformConversationId: 'conv-1',
    headers: JSON.stringify({ 'x-8x8-event-id': eventId }),
    body: Buffer.from(`{"eventType":"MESSAGE","n":"${eventId}"}`),
    occurredAt: new Date(),
    ...overrides,
  });

  it('stores concurrent deliveries in fewer statements and tells each caller whether its delivery was new', async () => {
    statements = 0;
    const ids = Array.from({ length: 50 }, (_, i) => `e-${i}`);
    // e-7 twice in one burst: only the first is new.
    const results = await Promise.all([...ids, 'e-7'].map((id) => writer.store(row(id))));
    expect(results.slice(0, 50).every(Boolean)).toBe(true);
    expect(results[50]).toBe(false);
    expect(statements).toBeLessThan(10);
    const stored = (await pool.query(`SELECT event_id FROM inbound_webhooks WHERE gateway_id = $1`, [gatewayId])).rows.map((r) => r.event_id);
    expect(stored.sort()).toEqual([...ids].sort());
    expect(await writer.store(row('e-3'))).toBe(false);
  });

  it('fails only the delivery the database refuses, not the ones written with it', async () => {
    const results = await Promise.allSettled([
      writer.store(row('a-1')),
      writer.store(row('a-2')),
      writer.store(row('orphan', { gatewayId: randomUUID() })),
      writer.store(row('a-3')),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect((results[2] as PromiseRejectedResult).reason.message).toMatch(/foreign key/);
  });
});
