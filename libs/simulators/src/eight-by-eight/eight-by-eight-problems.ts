import { randomBytes } from 'node:crypto';
import { HttpError } from '../http/simulator-http';

/** Content type of every 8x8 error body. */
export const PROBLEM_JSON = 'application/problem+json';
/** Content type of every successful 8x8 Chat Gateway body. */
export const HAL_JSON = 'application/hal+json';

/** One entry of a ValidationExceptionPayload `validations` list. */
export interface FieldViolation {
  field: string;
  value?: string;
  code: string;
  message: string;
}

/**
 * An error in one of the response shapes of 8x8's document. It is an HttpError so the shared router sends it, and it
 * carries a readable message for callers of the simulator's methods.
 */
export class EightByEightProblem extends HttpError {
  constructor(status: number, body: { message: string } & Record<string, unknown>, headers: Record<string, string> = {}) {
    super(status, body, PROBLEM_JSON, headers);
    this.message = `${status} ${body.message}`;
  }
}

function referenceId(): string {
  return randomBytes(16).toString('hex');
}

/** UnauthorizedProblem. */
export function accessDenied(): EightByEightProblem {
  return new EightByEightProblem(401, { message: 'Access Denied', errors: [{ message: 'Access Denied', code: 'access_denied' }], referenceId: referenceId() });
}

/** ForbiddenViolationProblem, with the example's wording. */
export function tenantMismatch(customerId: string): EightByEightProblem {
  return new EightByEightProblem(403, {
    message: 'The tenant does not belong to customer.',
    errors: [`Header X-8x8-Tenant doesn't match tenant information for customerId=${customerId}`],
  });
}

/** ResourceNotFoundProblem (errors are strings), used by most endpoints. */
export function resourceNotFound(type: string, id: string): EightByEightProblem {
  const message = `Resource of type ${type} with id ${id} was not found.`;
  return new EightByEightProblem(404, { message, errors: [message] });
}

/** ResourceNotFoundExceptionPayload (coded errors), used by typing, thinking, read-receipt and post-agent-assignment. */
export function resourceNotFoundCoded(type: string, id: string): EightByEightProblem {
  return new EightByEightProblem(404, {
    message: 'Resource not found',
    errors: [{ code: 'resource_not_found', message: `Entity of type ${type} with id ${id} was not found.` }],
  });
}

/** ValidationExceptionPayload: GenericExceptionPayload plus the offending fields. */
export function validationFailed(violations: FieldViolation[]): EightByEightProblem {
  return new EightByEightProblem(400, {
    message: 'Validation failed',
    errors: violations.map((violation) => ({ code: violation.code, message: `${violation.field}: ${violation.message}` })),
    validations: violations,
    referenceId: referenceId(),
  });
}

/** BadRequestProblem: note that `errors` is an object there, not an array. */
export function badRequest(message: string, code = 'invalid_json_object'): EightByEightProblem {
  return new EightByEightProblem(400, { message, errors: { code, message }, referenceId: referenceId() });
}

/** InvalidParameterExceptionPayload. */
export function invalidParameter(message: string): EightByEightProblem {
  return new EightByEightProblem(400, { message, errors: [{ code: 'invalid_parameter', message }], referenceId: referenceId() });
}

/** GenericExceptionPayload with any status (invalid_queue, conflicts, injected 5xx...). */
export function generalError(status: number, code: string, message: string, headers: Record<string, string> = {}): EightByEightProblem {
  return new EightByEightProblem(status, { message, errors: [{ code, message }] }, headers);
}

/** Collects field violations and throws them as one 400. */
export class FieldChecks {
  private readonly violations: FieldViolation[] = [];

  fail(field: string, value: unknown, code: string, message: string): this {
    this.violations.push({ field, value: value === undefined ? undefined : typeof value === 'string' ? value : JSON.stringify(value), code, message });
    return this;
  }

  requireString(field: string, value: unknown, maxLength?: number): value is string {
    if (typeof value !== 'string' || value.trim() === '') {
      this.fail(field, value, 'required_field', 'May not be empty.');
      return false;
    }
    if (maxLength !== undefined && value.length > maxLength) {
      this.fail(field, value, 'invalid_length', `Must be at most ${maxLength} characters.`);
      return false;
    }
    return true;
  }

  optionalString(field: string, value: unknown): void {
    if (value !== undefined && typeof value !== 'string') this.fail(field, value, 'invalid_type', 'Must be a string.');
  }

  throwIfAny(): void {
    if (this.violations.length > 0) throw validationFailed(this.violations);
  }
}

/** A HAL collection page with 8x8's `page` block. */
export interface HalPage<T> {
  _embedded: Record<string, T[]>;
  _links: Record<string, { href: string }>;
  page: { size: number; number: number; totalElements: number; totalPages: number };
}

/** Query of a list endpoint: paging, `field:dir` sort and the FIQL filter subset. */
export interface ListQuery {
  size?: string | null;
  page?: string | null;
  sort?: string | null;
  filter?: string | null;
}

function readPath(item: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((value, key) => (value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined), item);
}

/**
 * A FIQL subset: `;` (and) binds tighter than `,` (or), comparisons `==` and `!=`, `*` wildcards, dotted paths.
 * Parentheses are ignored, which is enough for filters such as `name==Cosmin,(routingOption.id==11)`.
 */
export function matchesFilter(item: unknown, filter: string): boolean {
  const cleaned = filter.replace(/[()]/g, '');
  return cleaned.split(',').some((conjunction) =>
    conjunction.split(';').every((comparison) => {
      const match = /^([^=!]+)(==|!=)(.*)$/.exec(comparison.trim());
      if (!match) throw invalidParameter(`Invalid filter expression: ${comparison}`);
      const [, path, operator, expected] = match;
      const actual = readPath(item, path.trim());
      const pattern = new RegExp(`^${expected.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
      const equal = actual !== undefined && actual !== null && pattern.test(String(actual));
      return operator === '==' ? equal : !equal;
    }),
  );
}

function readInteger(name: string, raw: string | null | undefined, fallback: number, min: number): number {
  if (raw === null || raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw invalidParameter(`Invalid value '${raw}' for parameter '${name}'.`);
  return value;
}

function sortItems<T>(items: T[], sort: string): T[] {
  const [field, direction = 'asc'] = sort.split(':');
  if (direction !== 'asc' && direction !== 'desc') throw invalidParameter(`Invalid sort direction '${direction}'.`);
  const sign = direction === 'desc' ? -1 : 1;
  return items
    .map((item, index) => ({ item, index }))
    .sort((a, b) => {
      const left = readPath(a.item, field) as string | number | undefined | null;
      const right = readPath(b.item, field) as string | number | undefined | null;
      if (left === right || left === undefined || right === undefined || left === null || right === null) return (a.index - b.index) * sign;
      return (left < right ? -1 : 1) * sign;
    })
    .map(({ item }) => item);
}

/** Filters, sorts and pages `items` into a HAL page; `selfPath` is the request path the links are built on. */
export function halPage<T>(items: T[], name: string, query: ListQuery, selfPath: string, defaultSort?: string): HalPage<T> {
  const size = readInteger('size', query.size, 20, 1);
  const number = readInteger('page', query.page, 0, 0);
  let selected = query.filter ? items.filter((item) => matchesFilter(item, query.filter!)) : [...items];
  const sort = query.sort || defaultSort;
  if (sort) selected = sortItems(selected, sort);
  const totalElements = selected.length;
  const totalPages = Math.ceil(totalElements / size);
  const href = (pageNumber: number) => {
    const params = new URLSearchParams();
    params.set('page', String(pageNumber));
    params.set('size', String(size));
    if (query.sort) params.set('sort', query.sort);
    if (query.filter) params.set('filter', query.filter);
    return `${selfPath}?${params.toString()}`;
  };
  const links: Record<string, { href: string }> = { self: { href: href(number) } };
  if (number > 0) links.prev = { href: href(number - 1) };
  if (number + 1 < totalPages) links.next = { href: href(number + 1) };
  return {
    _embedded: { [name]: selected.slice(number * size, number * size + size) },
    _links: links,
    page: { size, number, totalElements, totalPages },
  };
}
