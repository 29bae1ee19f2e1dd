import { LoggerService } from '@nestjs/common';
import pino, { Logger } from 'pino';
import { requestContext } from './request-context';
import { redact } from './redact';

/**
 * JSON-lines logger for the whole process (Nest's own messages included). Each line carries the correlation id of
 * the request or job it was written in; fields whose names look secret are masked before serialisation.
 */
export class AppLogger implements LoggerService {
  private readonly root: Logger;

  constructor(level: string, destination?: pino.DestinationStream) {
    this.root = pino(
      {
        level,
        base: { pid: process.pid },
        timestamp: pino.stdTimeFunctions.isoTime,
        formatters: { level: (label) => ({ level: label }) },
        mixin: () => {
          const correlationId = requestContext.correlationId();
          return correlationId ? { correlationId } : {};
        },
        redact: { paths: ['*.authorization', '*.Authorization', 'headers.authorization', 'headers["x-api-key"]'], censor: '********' },
      },
      destination ?? pino.destination({ sync: false }),
    );
  }

  child(component: string): ComponentLogger {
    return new ComponentLogger(this.root.child({ component }));
  }

  log(message: unknown, ...rest: unknown[]): void {
    this.write('info', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.write('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.write('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.write('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.write('trace', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]): void {
    this.write('fatal', message, rest);
  }

  flush(): void {
    this.root.flush();
  }

  private write(level: pino.Level, message: unknown, rest: unknown[]): void {
    // Nest passes (message, context) or (message, stack, context).
    const context = typeof rest[rest.length - 1] === 'string' ? (rest.pop() as string) : undefined;
    const stack = typeof rest[0] === 'string' ? (rest[0] as string) : undefined;
    const fields: Record<string, unknown> = { component: context };
    if (stack) fields.stack = stack;
    if (message instanceof Error) this.root[level]({ ...fields, err: { message: message.message, stack: message.stack } }, message.message);
    else if (typeof message === 'object') this.root[level]({ ...fields, ...(redact(message) as object) });
    else this.root[level](fields, String(message));
  }
}

/** A logger bound to one component, with structured fields (redacted). */
export class ComponentLogger {
  constructor(private readonly logger: Logger) {}

  debug(message: string, fields: Record<string, unknown> = {}): void {
    this.logger.debug(redact(fields) as object, message);
  }
  info(message: string, fields: Record<string, unknown> = {}): void {
    this.logger.info(redact(fields) as object, message);
  }
  warn(message: string, fields: Record<string, unknown> = {}): void {
    this.logger.warn(redact(fields) as object, message);
  }
  error(message: string, fields: Record<string, unknown> = {}): void {
    this.logger.error(redact(fields) as object, message);
  }
}
