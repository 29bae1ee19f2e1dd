import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { DataSource, DataSourceOptions } from 'typeorm';
import { Foundation1763784000000 } from './migrations/1763784000000-Foundation';
import { Escalations1763784100000 } from './migrations/1763784100000-Escalations';
import { PollShards1763784200000 } from './migrations/1763784200000-PollShards';
import { AgentDirectory1763784300000 } from './migrations/1763784300000-AgentDirectory';
import { DeliveryClaims1763784400000 } from './migrations/1763784400000-DeliveryClaims';
import { DeliveredOnConversation1763784500000 } from './migrations/1763784500000-DeliveredOnConversation';
import { InboundWebhookRetention1763784600000 } from './migrations/1763784600000-InboundWebhookRetention';
import { SigningSecretRotation1763784700000 } from './migrations/1763784700000-SigningSecretRotation';
import { RelayLease1763784800000 } from './migrations/1763784800000-RelayLease';
import { ForeignKeyIndexes1763784900000 } from './migrations/1763784900000-ForeignKeyIndexes';
import { SessionGoneAt1763785080000 } from './migrations/1763785080000-SessionGoneAt';
import { DomainScopes1796661104845 } from './migrations/1796661104845-DomainScopes';
import { WebhooksGoWithTheirGateway1796661300000 } from './migrations/1796661300000-WebhooksGoWithTheirGateway';
import { Channels1796662000000 } from './migrations/1796662000000-Channels';
import { ChannelEventKeys1796662100000 } from './migrations/1796662100000-ChannelEventKeys';
import { WebchatTranscripts1796662500000 } from './migrations/1796662500000-WebchatTranscripts';
import { WebchatFileAge1796662600000 } from './migrations/1796662600000-WebchatFileAge';
import { ChannelReachability1796662700000 } from './migrations/1796662700000-ChannelReachability';
import { ChannelConsent1796662800000 } from './migrations/1796662800000-ChannelConsent';
import { EarlyReceipts1796662900000 } from './migrations/1796662900000-EarlyReceipts';
import { ENTITIES } from './entities';

export const MIGRATIONS = [Foundation1763784000000, Escalations1763784100000, PollShards1763784200000, AgentDirectory1763784300000, DeliveryClaims1763784400000, DeliveredOnConversation1763784500000, InboundWebhookRetention1763784600000, SigningSecretRotation1763784700000, RelayLease1763784800000, ForeignKeyIndexes1763784900000, SessionGoneAt1763785080000, DomainScopes1796661104845, WebhooksGoWithTheirGateway1796661300000, Channels1796662000000, ChannelEventKeys1796662100000, WebchatTranscripts1796662500000, WebchatFileAge1796662600000, ChannelReachability1796662700000, ChannelConsent1796662800000, EarlyReceipts1796662900000];

export function dataSourceOptions(url: string, poolSize: number): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsRun: false,
    synchronize: false,
    extra: { max: poolSize, application_name: 'chat-gateway' },
    logging: false,
  };
}

/** Creates the database named in the URL when it does not exist (connecting to the `postgres` maintenance DB). */
export async function ensureDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (!name) throw new Error('DATABASE_URL names no database');
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (exists.rowCount === 0) {
      try {
        await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
      } catch (error) {
        // Another process created it between the check and the CREATE.
        if ((error as { code?: string }).code !== '42P04') throw error;
      }
    }
  } finally {
    await client.end();
  }
}

const MIGRATION_LOCK_POLL_MS = 200;

/** Runs pending migrations under an advisory lock so API and worker processes starting together do not race. */
export async function migrate(url: string): Promise<string[]> {
  const dataSource = new DataSource({ ...dataSourceOptions(url, 2), migrationsTransactionMode: 'each' });
  await dataSource.initialize();
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    // Waits by polling, not inside pg_advisory_lock(): a session blocked in that statement holds a snapshot, and a
    // migration building an index CONCURRENTLY in the process that holds the lock waits for every older snapshot to
    // end, while the lock is released only after that migration: both would wait for ever. Between polls the waiting
    // session holds nothing.
    while (!(await runner.query('SELECT pg_try_advisory_lock(727274) AS taken'))[0].taken) await sleep(MIGRATION_LOCK_POLL_MS);
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    return applied.map((m) => m.name);
  } finally {
    await runner.query('SELECT pg_advisory_unlock(727274)').catch(() => undefined);
    await runner.release();
    await dataSource.destroy();
  }
}
