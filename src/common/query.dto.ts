import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsInt, IsOptional, Max, Min, ValidateBy } from 'class-validator';

/**
 * A query parameter's digits as a number; anything else (`1e30`, `1.5`, a repeated parameter's array) is left as
 * it came, for `@IsInt` to refuse with the parameter's name.
 */
export const QueryInteger = () => Transform(({ value }) => (typeof value === 'string' && /^-?\d{1,15}$/.test(value) ? Number(value) : value));

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

/** The Date an ISO-8601 date or date-time names, or undefined: a bare number, a year alone or 30 February is none. */
export function isoDateTime(value: string): Date | undefined {
  const match = DATE_TIME.exec(value);
  if (!match) return undefined;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  // JavaScript rolls 30 February over into March; PostgreSQL refuses years before 1 and after 294276.
  const calendar = new Date(Date.UTC(year, month - 1, day));
  if (year < 1900 || calendar.getUTCMonth() !== month - 1 || calendar.getUTCDate() !== day) return undefined;
  const time = new Date(value);
  return Number.isNaN(time.getTime()) ? undefined : time;
}

/** An ISO-8601 date or date-time query parameter, turned into a Date (see `isoDateTime`). */
export const QueryDateTime = () => (target: object, property: string) => {
  Transform(({ value }) => (typeof value === 'string' ? (isoDateTime(value) ?? value) : value))(target, property);
  ValidateBy({
    name: 'isQueryDateTime',
    validator: { validate: (value) => value instanceof Date, defaultMessage: () => 'must be an ISO-8601 date or date-time, e.g. 2026-11-22T10:00:00Z' },
  })(target, property);
};

/** Paging of a list: `page` from 1, `pageSize` up to 100. */
export class PageQuery {
  @ApiPropertyOptional({ default: 1, minimum: 1, maximum: 100_000 })
  @IsOptional()
  @QueryInteger()
  @IsInt()
  @Min(1)
  @Max(100_000)
  page?: number;

  @ApiPropertyOptional({ default: 20, minimum: 1, maximum: 100 })
  @IsOptional()
  @QueryInteger()
  @IsInt()
  @Min(1)
  @Max(100)
  pageSize?: number;
}
