import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import type { Express, NextFunction, Request, Response } from 'express';
import type { Server } from 'node:http';
import { AppModule } from './app.module';
import { AllExceptionsFilter } from './common/all-exceptions.filter';
import { AppLogger } from './common/app-logger';
import { ErrorBodyDto } from './common/error-body.dto';
import { DomainError } from './common/domain-error';
import { correlationMiddleware } from './common/http-context.middleware';
import { MAX_BODY_DEPTH, nestsDeeperThan } from './common/nesting-depth';
import { createValidationPipe } from './common/validation.pipe';
import { describeDeliveredEvents } from './delivery/event-schemas';
import { AppConfig } from './config/app-config';
import { AppOptions } from './core.module';
import { ensureDatabase, migrate } from './database/database';
import { routeLabel } from './metrics/http-labels';
import { MetricsService } from './metrics/metrics.service';
import { mountQueueDashboard } from './queues/queue-dashboard';
import { describeWebhookIntake, mountWebhookIntake } from './inbound/webhook-intake.route';
import { WebchatModule } from './webchat/webchat.module';

export const BODY_LIMIT = '1mb';

export function buildOpenApi(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('chat-gateway')
    .setDescription(
      'Connects a bot platform to contact-center platforms where human agents take over escalated conversations. ' +
        'Authenticate with an API key as `Authorization: Bearer <key>` (or `X-API-Key`). Every error has the body `ErrorBodyDto`.',
    )
    .setVersion('1')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'API key of a service account' })
    .build();
  const document = SwaggerModule.createDocument(app, config, { extraModels: [ErrorBodyDto] });
  describeWebhookIntake(document);
  describeDeliveredEvents(document);
  return document;
}

/** Prepares the database (create, migrate) and builds the application for the configured role. */
export async function createApp(config: AppConfig, logger: AppLogger, options: AppOptions = {}): Promise<NestExpressApplication> {
  await ensureDatabase(config.DATABASE_URL);
  const applied = await migrate(config.DATABASE_URL);
  if (applied.length) logger.log({ msg: 'migrations applied', migrations: applied }, 'database');

  const app = await NestFactory.create<NestExpressApplication>(AppModule.register(config, logger, options), {
    logger,
    bodyParser: false,
    rawBody: true,
    abortOnError: false,
  });
  app.enableShutdownHooks();
  const server = app.getHttpServer() as Server;
  server.keepAliveTimeout = config.HTTP_KEEP_ALIVE_SECONDS * 1000;
  // Kept above the idle wait: Node's default headers timeout (60 s) is below this service's default keep-alive.
  server.headersTimeout = server.keepAliveTimeout + 1000;
  app.set('trust proxy', true);
  app.disable('x-powered-by');
  app.use(correlationMiddleware);
  const metrics = app.get(MetricsService);
  app.use((req: Request, res: Response, next: NextFunction) => {
    metrics.timeRequest(req, res, () => routeLabel(req));
    next();
  });
  if (config.runsApi) {
    mountWebhookIntake(app);
    WebchatModule.mount(app);
  }
  app.useBodyParser('json', { limit: BODY_LIMIT, type: ['application/json', 'application/*+json'] });
  app.useBodyParser('urlencoded', { limit: BODY_LIMIT, extended: false });
  app.use((req: Request, _res: Response, next: NextFunction) => {
    if (nestsDeeperThan(req.body, MAX_BODY_DEPTH)) return next(DomainError.validation([{ field: 'body', message: `nests deeper than ${MAX_BODY_DEPTH} levels` }]));
    next();
  });
  app.useGlobalFilters(new AllExceptionsFilter());
  app.useGlobalPipes(createValidationPipe());

  const document = buildOpenApi(app);
  (app.getHttpAdapter().getInstance() as Express).get('/docs/openapi.json', (_req: Request, res: Response) => res.json(document));
  if (config.DOCS_UI_ENABLED) {
    SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/openapi-ui.json', customSiteTitle: 'chat-gateway API' });
    mountQueueDashboard(app);
  }
  return app;
}
