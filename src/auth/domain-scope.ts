/**
 * The domains (bot-platform tenants) a caller may see and act on: a set of domain ids, or null for every domain (an
 * unscoped key: the gateway service account, operators). The authenticated principal carries it; every query and
 * service that reads or changes a domain's data takes it, and answers for what lies outside it exactly as for what
 * does not exist, so that a scoped key learns nothing of other tenants, not even that an id is taken.
 */
export type DomainScope = ReadonlySet<string> | null;

/** Every domain: internal callers (queue intake, workers) and unscoped keys. */
export const EVERY_DOMAIN: DomainScope = null;

export function inScope(scope: DomainScope, domainId: string): boolean {
  return scope === null || scope.has(domainId);
}

/** Whether every domain of `ids` (null: every domain) lies within `scope`. */
export function covers(scope: DomainScope, ids: readonly string[] | null): boolean {
  if (scope === null) return true;
  return ids !== null && ids.every((id) => scope.has(id));
}

export function sameScope(a: DomainScope, b: DomainScope): boolean {
  if (a === null || b === null) return a === b;
  return a.size === b.size && [...a].every((id) => b.has(id));
}

/** The scope as a query parameter for `scopeCondition`: null (every domain) or the ids. */
export function scopeParam(scope: DomainScope): string[] | null {
  return scope === null ? null : [...scope];
}

/** SQL: `column` is within the scope given as parameter `$index` (see `scopeParam`). */
export function scopeCondition(column: string, index: number): string {
  return `($${index}::uuid[] IS NULL OR ${column} = ANY($${index}::uuid[]))`;
}
