import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { DOMAIN_ERROR_STATUS, DomainError } from './domain-error';
import { requestContext } from './request-context';

const HTTP_CODES: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  412: 'precondition_failed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  422: 'unprocessable_entity',
  428: 'precondition_required',
  429: 'too_many_requests',
};

/** Turns every error into `{statusCode, code, message, details?, correlationId}`; 5xx details are never exposed. */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('http');

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const correlationId = requestContext.correlationId() ?? requestContext.newId();
    const body = this.toBody(exception, correlationId);
    if (body.statusCode >= 500) {
      this.logger.error({ msg: 'request failed', error: exception instanceof Error ? exception.message : String(exception), stack: (exception as Error)?.stack });
    }
    if (res.headersSent) return;
    res.status(body.statusCode).setHeader('x-correlation-id', correlationId).json(body);
  }

  toBody(exception: unknown, correlationId: string) {
    if (exception instanceof DomainError) {
      return { statusCode: DOMAIN_ERROR_STATUS[exception.code], code: exception.code, message: exception.message, details: exception.details, correlationId };
    }
    const cause = exception instanceof HttpException ? (exception.cause as { type?: string } | undefined) : undefined;
    if (exception instanceof SyntaxError || cause?.type === 'entity.parse.failed') {
      return { statusCode: 400, code: 'malformed_json', message: 'Request body is not valid JSON', correlationId };
    }
    if (cause?.type === 'entity.too.large') {
      return { statusCode: 413, code: 'payload_too_large', message: 'Request body exceeds the 1 MiB limit', correlationId };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const response = exception.getResponse() as string | { message?: unknown; code?: string; details?: unknown };
      const raw = typeof response === 'string' ? response : response.message;
      const message = Array.isArray(raw) ? raw.join('; ') : String(raw ?? exception.message);
      const code = (typeof response === 'object' && response.code) || HTTP_CODES[status] || (status >= 500 ? 'internal_error' : 'error');
      const details = typeof response === 'object' ? response.details : undefined;
      return { statusCode: status, code, message, ...(details ? { details } : {}), correlationId };
    }
    const bodyParserError = exception as { type?: string; status?: number; statusCode?: number; message?: string };
    if (bodyParserError?.type === 'entity.too.large') {
      return { statusCode: 413, code: 'payload_too_large', message: 'Request body exceeds the 1 MiB limit', correlationId };
    }
    if (bodyParserError?.type === 'entity.parse.failed') {
      return { statusCode: 400, code: 'malformed_json', message: 'Request body is not valid JSON', correlationId };
    }
    const status = bodyParserError?.status ?? bodyParserError?.statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      return { statusCode: status, code: HTTP_CODES[status] ?? 'bad_request', message: bodyParserError.message ?? 'Bad request', correlationId };
    }
    return { statusCode: HttpStatus.INTERNAL_SERVER_ERROR, code: 'internal_error', message: 'Internal server error', correlationId };
  }
}
