import { DynamicModule, Module, OnModuleInit } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { ChannelIngestService } from '../channels/channel-ingest.service';
import { ChannelsModule } from '../channels/channels.module';
import { HostedChannelRegistry } from '../channels/hosted-channel.registry';
import { correlationMiddleware } from '../common/http-context.middleware';
import { modulePerConfig } from '../common/module-per-config';
import { AppConfig } from '../config/app-config';
import { WebchatFileRetention } from './webchat-file-retention.service';
import { MetricsService } from '../metrics/metrics.service';
import { WebchatClock } from './webchat-clock';
import { WebchatDirectLineService } from './webchat-direct-line.service';
import { WebchatGatewaysService } from './webchat-gateways.service';
import { WebchatHostedChannel } from './webchat-hosted.channel';
import { WebchatIngest } from './webchat-ingest';
import { WebchatPageService } from './webchat-page.service';
import { WebchatRouter } from './webchat.router';
import { WebchatStreamsService } from './webchat-streams.service';
import { WebchatTranscriptRepository } from './webchat-transcript.repository';

/**
 * Web chat served by this service: Direct Line 3.0 for `webchat` gateways, their streams, files and hosted page.
 * Its routes are mounted on the HTTP server (`mount`), not as Nest controllers.
 */
@Module({})
export class WebchatModule implements OnModuleInit {
  constructor(
    private readonly hostedChannels: HostedChannelRegistry,
    private readonly hosted: WebchatHostedChannel,
  ) {}

  static register(config: AppConfig): DynamicModule {
    return modulePerConfig(config, WebchatModule, () => ({
      module: WebchatModule,
      imports: [ChannelsModule.register(config)],
      providers: [
        WebchatClock,
        WebchatTranscriptRepository,
        WebchatGatewaysService,
        WebchatStreamsService,
        // The user's activities go to the channel core's intake.
        { provide: WebchatIngest, useExisting: ChannelIngestService },
        WebchatDirectLineService,
        WebchatHostedChannel,
        WebchatPageService,
        WebchatRouter,
        // Retentions run where the workers run.
        ...(config.runsWorker ? [WebchatFileRetention] : []),
      ],
    }));
  }

  /** Sends of the channel core to `webchat` conversations (from API and worker processes) append here. */
  onModuleInit(): void {
    this.hostedChannels.register('webchat', this.hosted);
  }

  /** Serves `/webchat/...` requests and Direct Line stream handshakes before Express sees them. */
  static mount(app: NestExpressApplication): void {
    const router = app.get(WebchatRouter);
    const metrics = app.get(MetricsService);
    const server = app.getHttpServer() as Server;
    const others = server.listeners('request') as RequestListener[];
    server.removeAllListeners('request');
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      if (!req.url?.startsWith('/webchat/')) {
        for (const listener of others) listener.call(server, req, res);
        return;
      }
      metrics.timeRequest(req, res, () => routeLabel(req.url ?? ''));
      correlationMiddleware(req, res, () => router.handle(req, res));
    });
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      // Another upgrade listener may own other paths; with none, an unknown path is refused.
      if (!router.upgrade(req, socket, head) && server.listenerCount('upgrade') === 1) socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    });
  }
}

/** A metrics label without ids or tokens. */
function routeLabel(url: string): string {
  const path = url.split('?')[0];
  const dl = /^\/webchat\/[^/]+\/v3\/directline\/(tokens\/\w+|conversations)(\/[^/]+)?(\/\w+)?/.exec(path);
  if (dl) return `/webchat/:gatewayId/v3/directline/${dl[1]}${dl[2] ? '/:conversationId' : ''}${dl[3] ?? ''}`;
  if (path.startsWith('/webchat/assets/')) return path;
  if (/^\/webchat\/[^/]+\/files\//.test(path)) return '/webchat/:gatewayId/files/:fileId';
  return /\/session\/?$/.test(path) ? '/webchat/:gatewayId/session' : '/webchat/:gatewayId';
}
