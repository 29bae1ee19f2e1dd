import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A gateway's stored webhook deliveries go with it when it is deleted: the gateways module deletes only its own row,
 * and the database takes what refers to it (escalations still refuse the delete, so a gateway with history stays).
 */
export class WebhooksGoWithTheirGateway1796661300000 implements MigrationInterface {
  name = 'WebhooksGoWithTheirGateway1796661300000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE inbound_webhooks DROP CONSTRAINT inbound_webhooks_gateway_id_fkey,
                     ADD CONSTRAINT inbound_webhooks_gateway_id_fkey FOREIGN KEY (gateway_id) REFERENCES gateways(id) ON DELETE CASCADE`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE inbound_webhooks DROP CONSTRAINT inbound_webhooks_gateway_id_fkey,
                     ADD CONSTRAINT inbound_webhooks_gateway_id_fkey FOREIGN KEY (gateway_id) REFERENCES gateways(id)`);
  }
}
