import { spawnSync } from 'node:child_process';
import { Writable } from 'node:stream';
import { resolve } from 'node:path';
import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { DiscoveryModule } from '@nestjs/core';
import { ChatGatewayPlugin } from '@app/gateway-sdk';
import { FakeGateway } from '@app/gateways';
import { AppLogger } from '../../src/common/app-logger';
import { requestContext } from '../../src/common/request-context';
import { DuplicateGatewayTypeError, GatewayRegistry } from '../../src/gateways/gateway-registry';
import { waitFor } from '../support/bot-receiver';
import { ADMIN_KEY, resetState, startTestApp } from '../support/test-app';

describe('runtime', () => {
  beforeAll(() => resetState());

  it('reports PostgreSQL and Redis in /health/ready and answers 503 when Redis is unreachable', async () => {
    const up = await startTestApp();
    try {
      const ready = await up.request('GET', '/health/ready', { key: null });
      expect(ready.status).toBe(200);
      expect(ready.body.details).toMatchObject({ postgresql: { status: 'up' }, redis: { status: 'up' } });
    } finally {
      await up.close();
    }
    const down = await startTestApp({ REDIS_URL: 'redis://127.0.0.1:1', APP_ROLE: 'api' });
    try {
      const ready = await down.request('GET', '/health/ready', { key: null });
      expect(ready.status).toBe(503);
      expect(ready.body.details.redis.status).toBe('down');
      expect((await down.request('GET', '/health/live', { key: null })).status).toBe(200);
    } finally {
      await down.close();
    }
  }, 30_000);

  it('serves Prometheus metrics with HTTP and queue series', async () => {
    const t = await startTestApp();
    try {
      await t.request('GET', '/v1/domains');
      const res = await t.request('GET', '/metrics');
      expect(res.text).toContain('chat_gateway_http_request_duration_seconds_count{method="GET",route="/v1/domains",status="200"}');
      expect(res.text).toMatch(/chat_gateway_queue_jobs\{queue="escalations",state="waiting"\} \d+/);
      expect(res.text).toMatch(/chat_gateway_job_outcomes_total\{queue="bot-deliveries",outcome="failed"\} \d+/);
    } finally {
      await t.close();
    }
  });

  it('guards the queue dashboard with gateways:configure, accepting the key as a Basic password', async () => {
    const t = await startTestApp();
    try {
      const anonymous = await fetch(`${t.url}/queues/`);
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toContain('Basic');
      const basic = Buffer.from(`ops:${ADMIN_KEY}`).toString('base64');
      const allowed = await fetch(`${t.url}/queues/`, { headers: { authorization: `Basic ${basic}` } });
      expect(allowed.status).toBe(200);
      const observer = await t.request('POST', '/v1/accounts', { body: { name: 'watcher', role: 'Observer' } });
      const denied = await fetch(`${t.url}/queues/`, { headers: { authorization: `Bearer ${observer.body.apiKey.key}` } });
      expect(denied.status).toBe(403);
    } finally {
      await t.close();
    }
  });

  it('stops the boot with a message naming a missing or malformed variable', () => {
    const env = { PATH: process.env.PATH, PORT: 'eighty' } as NodeJS.ProcessEnv;
    const run = spawnSync(process.execPath, ['-r', '@swc-node/register', resolve(__dirname, '../../src/main.ts')], { env, encoding: 'utf8', timeout: 30_000 });
    expect(run.status).toBe(78);
    expect(run.stderr).toContain('SECRETS_KEY is missing');
    expect(run.stderr).toContain('PORT');
  }, 40_000);

  it('refuses to start with two gateways of the same type', async () => {
    @ChatGatewayPlugin()
    @Injectable()
    class AnotherFake extends FakeGateway {}
    @Module({ imports: [DiscoveryModule], providers: [FakeGateway, AnotherFake, GatewayRegistry] })
    class TwoFakes {}
    const moduleRef = await Test.createTestingModule({ imports: [TwoFakes] }).compile();
    await expect(moduleRef.init()).rejects.toBeInstanceOf(DuplicateGatewayTypeError);
  });

  it('writes JSON log lines with the correlation id and secrets masked', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    });
    const logger = new AppLogger('info', sink);
    requestContext.run({ correlationId: 'corr-42' }, () => {
      logger.child('test').info('calling platform', { password: 'hunter2', nested: { apiKey: 'k-1', ok: 1 }, authorization: 'Bearer x' });
    });
    // Written asynchronously: until the line is there.
    await waitFor('the log line', () => lines.length > 0);
    const line = JSON.parse(lines[0]);
    expect(line).toMatchObject({ level: 'info', msg: 'calling platform', correlationId: 'corr-42', component: 'test' });
    expect(lines[0]).not.toContain('hunter2');
    expect(lines[0]).not.toContain('k-1');
    expect(line.nested.ok).toBe(1);
  });
});
