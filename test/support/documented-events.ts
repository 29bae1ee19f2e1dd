import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { normalizeOasSchema } from '@app/simulators/eight-by-eight/openapi-request-validator';
import Ajv, { ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

type Json = Record<string, unknown>;

/** Closes every object schema that lists its properties: a field the document does not name is a finding. */
export function closed(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(closed);
  if (node === null || typeof node !== 'object') return node;
  const out: Json = {};
  for (const [key, value] of Object.entries(node)) out[key] = key === 'enum' || key === 'required' ? value : closed(value);
  if (out.properties && out.additionalProperties === undefined) out.additionalProperties = false;
  return out;
}

/** Ajv with the document's components (closed) under `oas-document`, the id `normalizeOasSchema` gives their references. */
export function documentAjv(document: { components: { schemas: Json } }): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: false, logger: false });
  addFormats(ajv);
  ajv.addSchema({ $id: 'oas-document', components: { schemas: closed(normalizeOasSchema(document.components.schemas)) } });
  return ajv;
}

let deliveredEvent: { ajv: Ajv; validate: ValidateFunction } | undefined;

/**
 * How a body POSTed to a callback departs from the committed document's `DeliveredEvent` (closed to undocumented
 * fields), or null when it does not.
 */
export function undocumentedDelivery(body: unknown): string | null {
  if (!deliveredEvent) {
    const document = JSON.parse(readFileSync(resolve(__dirname, '../../openapi.json'), 'utf8'));
    const ajv = documentAjv(document);
    deliveredEvent = { ajv, validate: ajv.compile({ $ref: 'oas-document#/components/schemas/DeliveredEvent' }) };
  }
  if (deliveredEvent.validate(body)) return null;
  // The branch of the event's own type says what is wrong; the others only that the type is not theirs.
  const errors = (deliveredEvent.validate.errors ?? []).filter((e) => !e.message?.includes('allowed values') && e.keyword !== 'oneOf');
  return deliveredEvent.ajv.errorsText(errors.length ? errors : deliveredEvent.validate.errors, { dataVar: 'body' });
}
