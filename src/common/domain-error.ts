/** Codes services use; the exception filter maps each to one HTTP status. */
export const DOMAIN_ERROR_STATUS = {
  validation_failed: 400,
  invalid_state: 409,
  unauthenticated: 401,
  forbidden: 403,
  link_invalid: 403,
  link_expired: 410,
  not_found: 404,
  conflict: 409,
  control_conflict: 409,
  idempotency_conflict: 409,
  precondition_failed: 412,
  precondition_required: 428,
  payload_too_large: 413,
  unsupported_media_type: 415,
  gateway_unavailable: 502,
  // A proactive message refused up front: what the service already knows of the recipient (a channel's reason).
  proactive_unsupported: 422,
  not_installed: 422,
  blocked: 422,
  opted_out: 422,
  invalid_recipient: 422,
  window_closed: 422,
  session_ended: 422,
  template_required: 422,
} as const;

export type DomainErrorCode = keyof typeof DOMAIN_ERROR_STATUS;

/** A field-level problem reported in `details`. */
export interface FieldProblem {
  field: string;
  message: string;
}

/** Error thrown by services; never an HTTP exception, so processors can share the services. */
export class DomainError extends Error {
  constructor(
    readonly code: DomainErrorCode,
    message: string,
    readonly details?: FieldProblem[] | Record<string, unknown>,
  ) {
    super(message);
    this.name = 'DomainError';
  }

  static notFound(what: string, id: string): DomainError {
    return new DomainError('not_found', `${what} ${id} was not found`);
  }

  static validation(problems: FieldProblem[]): DomainError {
    const first = problems[0];
    const message = problems.length === 1 ? `${first.field}: ${first.message}` : `${problems.length} fields are invalid: ${problems.map((p) => p.field).join(', ')}`;
    return new DomainError('validation_failed', message, problems);
  }
}
