import { INestApplication } from '@nestjs/common';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { getQueueToken } from '@nestjs/bullmq';
import { Queue } from 'bullmq';
import type { NextFunction, Request, Response } from 'express';
import { ApiKeysService } from '../auth/api-keys.service';
import { extractKey } from '../auth/auth.guard';
import { ALL_QUEUES } from './queues';

const AUTHORITY = 'gateways:configure';

/**
 * Bull-board at /queues for operators holding `gateways:configure` with a key not scoped to domains. Browsers cannot
 * send a bearer header, so HTTP Basic is accepted too, with the API key as the password.
 */
export function mountQueueDashboard(app: INestApplication): void {
  const adapter = new ExpressAdapter();
  adapter.setBasePath('/queues');
  createBullBoard({ queues: ALL_QUEUES.map((name) => new BullMQAdapter(app.get<Queue>(getQueueToken(name)))), serverAdapter: adapter });
  const keys = app.get(ApiKeysService);
  const guard = async (req: Request, res: Response, next: NextFunction) => {
    const basic = /^Basic\s+(.+)$/i.exec(req.header('authorization') ?? '');
    const key = basic ? Buffer.from(basic[1], 'base64').toString('utf8').split(':').slice(1).join(':') : extractKey(req.headers);
    const principal = key ? await keys.authenticate(key) : null;
    if (!principal) {
      res.setHeader('WWW-Authenticate', 'Basic realm="chat-gateway queues"');
      res.status(401).json({ statusCode: 401, code: 'unauthenticated', message: 'An API key is required', correlationId: res.getHeader('x-correlation-id') });
      return;
    }
    if (!principal.authorities.has(AUTHORITY)) {
      res.status(403).json({ statusCode: 403, code: 'forbidden', message: `The queue dashboard requires '${AUTHORITY}'`, correlationId: res.getHeader('x-correlation-id') });
      return;
    }
    // The jobs of every domain are there (their data names escalations, conversations and users).
    if (principal.domainIds !== null) {
      res.status(403).json({ statusCode: 403, code: 'forbidden', message: 'The queue dashboard shows every domain; it needs a key that is not scoped to domains', correlationId: res.getHeader('x-correlation-id') });
      return;
    }
    next();
  };
  app.use('/queues', guard, adapter.getRouter());
}
