import { BeforeApplicationShutdown, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AppLogger } from '../common/app-logger';
import { AppConfig } from '../config/app-config';
import { MetricsService } from './metrics.service';

/**
 * `/metrics` without an API key on METRICS_PORT, for a Prometheus inside the cluster: a port the network keeps from
 * the public, where the API port answers only keys holding `metrics:read`. Started in every role, so that a worker's
 * own counters (deliveries, retentions, vacuums) can be scraped, though it serves no API. Nothing else is served here.
 */
@Injectable()
export class MetricsListener implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private server?: Server;

  constructor(
    private readonly config: AppConfig,
    private readonly metrics: MetricsService,
    private readonly logger: AppLogger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.METRICS_PORT === undefined) return;
    const server = createServer((req, res) => void this.serve(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.config.METRICS_PORT, '0.0.0.0', () => resolve());
    });
    this.server = server;
    this.logger.log({ msg: 'metrics listening', port: this.port() }, 'metrics');
  }

  /** The port it listens on (METRICS_PORT, or the one the system chose for 0); undefined when there is none. */
  port(): number | undefined {
    return (this.server?.address() as AddressInfo | null)?.port;
  }

  async beforeApplicationShutdown(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Only GET /metrics is served on this port\n');
      return;
    }
    try {
      const text = await this.metrics.render();
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(req.method === 'HEAD' ? undefined : text);
    } catch (error) {
      this.logger.error({ msg: 'metrics render failed', error: (error as Error).message }, 'metrics');
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('The metrics could not be read\n');
    }
  }
}
