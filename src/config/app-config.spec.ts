import { ConfigError, loadConfig } from './app-config';

const key = Buffer.alloc(32, 7).toString('base64');

describe('loadConfig', () => {
  it('applies defaults that reach the local PostgreSQL and Redis', () => {
    const config = loadConfig({ SECRETS_KEY: key });
    expect(config.APP_ROLE).toBe('all');
    expect(config.PORT).toBe(3000);
    expect(config.DATABASE_URL).toBe('postgres://postgres@127.0.0.1:5432/chat_gateway');
    expect(config.REDIS_URL).toBe('redis://127.0.0.1:6379');
    expect(config.secretsKey).toHaveLength(32);
  });

  it('names a missing SECRETS_KEY', () => {
    expect(() => loadConfig({})).toThrow(/SECRETS_KEY is missing/);
  });

  it('names each malformed variable', () => {
    try {
      loadConfig({ SECRETS_KEY: 'short', PORT: 'eighty', APP_ROLE: 'both', REDIS_URL: 'http://x' });
      throw new Error('expected a ConfigError');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const text = (error as ConfigError).message;
      for (const name of ['SECRETS_KEY', 'PORT', 'APP_ROLE', 'REDIS_URL']) expect(text).toContain(name);
    }
  });

  it('parses numbers and booleans from strings', () => {
    const config = loadConfig({ SECRETS_KEY: key, PORT: '8080', FAKE_GATEWAY_ENABLED: 'true', APP_ROLE: 'worker' });
    expect(config.PORT).toBe(8080);
    expect(config.FAKE_GATEWAY_ENABLED).toBe(true);
    expect(config.runsApi).toBe(false);
    expect(config.runsWorker).toBe(true);
  });

  it('takes METRICS_PORT only when it differs from PORT', () => {
    expect(loadConfig({ SECRETS_KEY: key }).METRICS_PORT).toBeUndefined();
    expect(loadConfig({ SECRETS_KEY: key, METRICS_PORT: '9464' }).METRICS_PORT).toBe(9464);
    expect(() => loadConfig({ SECRETS_KEY: key, PORT: '9464', METRICS_PORT: '9464' })).toThrow(/METRICS_PORT must differ from PORT/);
    expect(() => loadConfig({ SECRETS_KEY: key, METRICS_PORT: 'nine' })).toThrow(/METRICS_PORT/);
  });
});
