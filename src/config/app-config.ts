import { plainToInstance, Transform } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  MinLength,
  validateSync,
  ValidationError,
} from 'class-validator';

export const APP_ROLES = ['api', 'worker', 'all'] as const;
export type AppRole = (typeof APP_ROLES)[number];
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
/** The longest a replaced signing secret is kept signing (30 days). */
export const MAX_SECRET_OVERLAP_HOURS = 720;

const toInt = ({ value }: { value: unknown }) => (value === undefined || value === '' ? undefined : Number(value));
const toBool = ({ value }: { value: unknown }) =>
  value === undefined || value === '' ? undefined : value === true || value === 'true' || value === '1' ? true : value === 'false' || value === '0' ? false : value;

/**
 * Every setting the service reads from the environment, validated at boot. This is the only place that reads
 * `process.env`; the README's configuration reference is generated from these declarations.
 */
export class AppConfig {
  /** `api` serves HTTP and produces jobs, `worker` runs queue processors and schedulers, `all` does both. */
  @IsIn(APP_ROLES)
  APP_ROLE: AppRole = 'all';

  /** HTTP port of the API role. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT = 3000;

  /**
   * Port of a separate listener serving `/metrics` without an API key, in every role (workers included), for a
   * Prometheus that reaches it inside the cluster; unset, there is none. `/metrics` on `PORT` needs `metrics:read`.
   */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  METRICS_PORT?: number;

  /**
   * Seconds an idle keep-alive connection stays open. Longer than the idle timeout of the load balancers and clients
   * in front (60 s is common): a server that closes first races their next request on that connection, which then
   * fails with a reset.
   */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(3600)
  HTTP_KEEP_ALIVE_SECONDS = 65;

  /** PostgreSQL connection URL; the database is created when missing and migrated on start. */
  @Matches(/^postgres(ql)?:\/\/.+/, { message: 'must be a postgres:// URL' })
  DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/chat_gateway';

  /** Size of the PostgreSQL connection pool of each process. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(200)
  DATABASE_POOL_SIZE = 10;

  /** Redis connection URL (queues and short-lived locks only). */
  @Matches(/^rediss?:\/\/.+/, { message: 'must be a redis:// or rediss:// URL' })
  REDIS_URL = 'redis://127.0.0.1:6379';

  /** Prefix of every Redis key; the braces keep a queue's keys in one Redis Cluster hash slot. */
  @Matches(/^[A-Za-z0-9:{}_-]{1,64}$/, { message: 'must be 1-64 characters of letters, digits, : { } _ -' })
  REDIS_PREFIX = '{cg}';

  /** Key for AES-256-GCM encryption of gateway secrets: 32 random bytes, base64. Required. */
  @Matches(/^[A-Za-z0-9+/]{43}=$/, { message: 'must be 32 bytes encoded as base64 (44 characters)' })
  SECRETS_KEY!: string;

  /** API key of the `gatewayservice` account created at first start; generated and printed once when absent. */
  @IsOptional()
  @IsString()
  @MinLength(24)
  BOOTSTRAP_API_KEY?: string;

  /** Base URL at which platforms reach this service (webhook URLs are derived from it). */
  @IsOptional()
  @Matches(/^https?:\/\/[^\s]+$/, { message: 'must be an http(s) URL' })
  PUBLIC_BASE_URL?: string;

  /** Log level of the JSON log lines (`silent` turns them off). */
  @IsIn(LOG_LEVELS)
  LOG_LEVEL: (typeof LOG_LEVELS)[number] = 'info';

  /** Jobs one worker process runs at once, per queue. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1000)
  WORKER_CONCURRENCY = 50;

  /** Registers the scripted `fake` gateway type (tests and demos; never in production). */
  @Transform(toBool)
  @IsBoolean()
  FAKE_GATEWAY_ENABLED = false;

  /**
   * Allows outbound requests (callbacks, gateway calls, links) to loopback and private networks (development and tests).
   * Link-local, metadata and reserved addresses are refused either way.
   */
  @Transform(toBool)
  @IsBoolean()
  OUTBOUND_ALLOW_PRIVATE_NETWORKS = false;

  /** How long an undelivered bot-platform event keeps being retried. */
  @Transform(toInt)
  @IsInt()
  @Min(60)
  DELIVERY_MAX_AGE_SECONDS = 86_400;

  /**
   * Hours a platform's webhook delivery is kept, raw, after it was processed; then it is deleted (0 keeps them all).
   * Its events stay: a platform that sends it again later has it deduplicated by the events' platform keys.
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  INBOUND_WEBHOOK_RETENTION_HOURS = 168;

  /**
   * Days an escalation is kept after it ended (or failed, or timed out); then it is deleted with its events, their
   * delivery attempts, its files, relay commands and transitions (0 keeps them all). Its conversation stays, with its
   * sequence numbers; an escalation whose events are not all delivered or given up is kept until they are.
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  ESCALATION_RETENTION_DAYS = 0;

  /**
   * Dead row versions at which a worker vacuums the conversations table (checked every 2 s; 0 leaves it to
   * autovacuum). Each event and each delivery leaves one; between autovacuum's visits they slow the delivery passes.
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  CONVERSATIONS_VACUUM_DEAD_ROWS = 10_000;

  /**
   * Hours a domain's signing secret stays valid after a new one is set: deliveries carry a signature by each until then,
   * so the bot platform can switch without refusing any. A PATCH can give another period (0: the old secret ends at once).
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(MAX_SECRET_OVERLAP_HOURS)
  SIGNING_SECRET_OVERLAP_HOURS = 24;

  /** Poll-based escalations are split into this many shards; each shard is polled by one worker at a time, under a lease. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1024)
  POLL_SHARDS = 16;

  /**
   * How often each shard's poll job runs: it renews the shard's lease and re-reads the shard's chats. Each chat is
   * polled on its own clock in between, when its gateway's interval has passed (docs/polling.md).
   */
  @Transform(toInt)
  @IsInt()
  @Min(50)
  @Max(10_000)
  POLL_TICK_MS = 1000;

  /**
   * Polls in flight at once per shard. Enough for GMS answering in 100 ms at 10,000 chats over 16 shards; higher
   * values only let a CPU-bound worker open bursts of connections (docs/polling.md).
   */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(2000)
  POLL_CONCURRENCY = 64;

  /** Interval of the reconcile step that rebuilds jobs from PostgreSQL. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  RECONCILE_INTERVAL_SECONDS = 30;

  /**
   * How long a file link sent to a channel's user (an agent's file) can be opened without a key, from when the
   * message is stored. Signed with a key derived from SECRETS_KEY.
   */
  @Transform(toInt)
  @IsInt()
  @Min(60)
  @Max(30 * 24 * 3600)
  FILE_LINK_TTL_SECONDS = 24 * 3600;

  /**
   * Hours a file a web chat user uploaded is kept (Direct Line keeps them 24 hours); 0 keeps them. Its link in the
   * transcript answers 404 afterwards.
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(24 * 365)
  WEBCHAT_FILE_RETENTION_HOURS = 24;

  /** Bull-board and Swagger UI are served (the admin API itself is always documented at /docs/openapi.json). */
  @Transform(toBool)
  @IsBoolean()
  DOCS_UI_ENABLED = true;

  get publicBaseUrl(): string {
    return (this.PUBLIC_BASE_URL ?? `http://127.0.0.1:${this.PORT}`).replace(/\/$/, '');
  }

  get runsApi(): boolean {
    return this.APP_ROLE !== 'worker';
  }

  get runsWorker(): boolean {
    return this.APP_ROLE !== 'api';
  }

  get secretsKey(): Buffer {
    return Buffer.from(this.SECRETS_KEY, 'base64');
  }
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

function flatten(errors: ValidationError[]): string[] {
  return errors.flatMap((error) =>
    Object.values(error.constraints ?? {}).map((message) => {
      const shown = message.startsWith(error.property) ? message : `${error.property} ${message}`;
      return error.value === undefined ? `${error.property} is missing (${shown})` : shown;
    }),
  );
}

/** Validates an environment; throws ConfigError naming each bad variable. Unknown variables are ignored. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const keys = Object.keys(new AppConfig()).concat(['SECRETS_KEY', 'BOOTSTRAP_API_KEY', 'PUBLIC_BASE_URL', 'METRICS_PORT']);
  const input: Record<string, string> = {};
  for (const key of keys) {
    const value = env[key];
    if (value !== undefined && value !== '') input[key] = value;
  }
  const config = plainToInstance(AppConfig, input, { exposeDefaultValues: true });
  const errors = validateSync(config, { forbidUnknownValues: false });
  if (errors.length > 0) throw new ConfigError(flatten(errors));
  if (config.secretsKey.length !== 32) throw new ConfigError(['SECRETS_KEY must decode to exactly 32 bytes']);
  if (config.METRICS_PORT && config.METRICS_PORT === config.PORT) throw new ConfigError(['METRICS_PORT must differ from PORT (the API port serves /metrics to metrics:read only)']);
  return config;
}
