// Tests use their own database and Redis key prefix per Jest worker, so they never touch what `npm start` uses
// and two workers never see each other's rows or jobs. TEST_NAMESPACE separates two test runs on one machine (two
// checkouts, say), which would otherwise share worker 1's database.
const worker = `${process.env.TEST_NAMESPACE ?? ''}${process.env.JEST_WORKER_ID ?? '1'}`;
process.env.DATABASE_URL = process.env.TEST_DATABASE_URL ?? `postgres://postgres@127.0.0.1:5432/chat_gateway_test_${worker}`;
process.env.REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
process.env.REDIS_PREFIX = `{cgtest${worker}}`;
process.env.SECRETS_KEY = Buffer.alloc(32, 42).toString('base64');
process.env.BOOTSTRAP_API_KEY = 'test-bootstrap-key-0123456789abcdef';
process.env.FAKE_GATEWAY_ENABLED = 'true';
process.env.OUTBOUND_ALLOW_PRIVATE_NETWORKS = 'true';
process.env.LOG_LEVEL = process.env.TEST_LOG_LEVEL ?? 'silent';
process.env.PORT = '0';
