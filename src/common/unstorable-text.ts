import { FieldProblem } from './domain-error';

/** NUL and UTF-16 surrogates without their pair: characters PostgreSQL refuses in `text` and `jsonb`. */
export const UNSTORABLE_TEXT = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const HAS_UNSTORABLE = new RegExp(UNSTORABLE_TEXT.source);

const MESSAGE = 'has a NUL character or an unpaired UTF-16 surrogate, which cannot be stored';
const MAX_REPORTED = 20;

/**
 * The fields of a request (a parsed JSON body, a query) whose text PostgreSQL would refuse, named as the validation
 * errors name fields (`user.name`, `history.0.text`); a key is named by its own path. Refused at the door, since the
 * statement storing such text would fail with a 500.
 */
export function unstorableTextFields(value: unknown, prefix = ''): FieldProblem[] {
  const found: FieldProblem[] = [];
  const walk = (item: unknown, path: string): void => {
    if (found.length >= MAX_REPORTED) return;
    if (typeof item === 'string') {
      if (HAS_UNSTORABLE.test(item)) found.push({ field: path, message: MESSAGE });
      return;
    }
    if (item === null || typeof item !== 'object') return;
    for (const [key, child] of Object.entries(item)) {
      const childPath = path ? `${path}.${key}` : key;
      if (HAS_UNSTORABLE.test(key)) found.push({ field: childPath, message: `its name ${MESSAGE}` });
      walk(child, childPath);
    }
  };
  walk(value, prefix);
  return found.slice(0, MAX_REPORTED);
}
