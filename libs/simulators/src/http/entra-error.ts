import { randomUUID } from 'node:crypto';

/** A refusal of an Entra ID (Azure AD) token endpoint, with its AADSTS code: thrown by the simulators' token issuers. */
export class EntraError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly code: number,
    readonly description: string,
  ) {
    super(description);
  }
}

/** The OAuth 2.0 error body Entra answers with (`error`, `error_description` starting `AADSTS<code>:`, trace ids). */
export function entraErrorBody(error: EntraError, now: number = Date.now()): Record<string, unknown> {
  const timestamp = new Date(now).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  const traceId = randomUUID();
  const correlationId = randomUUID();
  return {
    error: error.error,
    error_description: `AADSTS${error.code}: ${error.description} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
    error_codes: [error.code],
    timestamp,
    trace_id: traceId,
    correlation_id: correlationId,
    error_uri: `https://login.microsoftonline.com/error?code=${error.code}`,
  };
}
