import { DomainError } from '../common/domain-error';

/** Whether PostgreSQL refused a row for a unique constraint (SQLSTATE 23505), as pg or TypeORM report it. */
export function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: unknown; driverError?: { code?: unknown } } | null;
  return e?.code === '23505' || e?.driverError?.code === '23505';
}

/**
 * Runs a write whose uniqueness was checked beforehand, answering 409 `message` when a concurrent request made the
 * same row between the check and the write (the check alone let the constraint answer 500).
 */
export async function conflictOnDuplicate<T>(write: () => Promise<T>, message: string): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (isUniqueViolation(error)) throw new DomainError('conflict', message);
    throw error;
  }
}

/** Whether PostgreSQL refused a change for a foreign key (SQLSTATE 23503): a row still refers to what was deleted. */
export function isReferenceViolation(error: unknown): boolean {
  const e = error as { code?: unknown; driverError?: { code?: unknown } } | null;
  return e?.code === '23503' || e?.driverError?.code === '23503';
}

/**
 * Runs a delete that rows of other modules may still refer to, answering 409 `message` when one does: the database
 * knows what refers to a row, so the owner need not read the other modules' tables to know.
 */
export async function conflictOnReference<T>(write: () => Promise<T>, message: string): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (isReferenceViolation(error)) throw new DomainError('conflict', message);
    throw error;
  }
}
