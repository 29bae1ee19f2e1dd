import { SETTINGS_GROUPS, SettingField, SettingsGroup, SettingsSchema } from '@app/gateway-sdk';
import Ajv, { ErrorObject, ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { FieldProblem } from '../common/domain-error';

/** Basic fields every gateway has, whatever its type. */
export const COMMON_BASIC_FIELDS: Record<string, SettingField> = {
  name: { type: 'string', title: 'Name', required: true, maxLength: 200 },
  domain: { type: 'string', title: 'Domain', description: 'Name of the bot-platform domain the gateway belongs to.', required: true, maxLength: 200 },
  deployed: { type: 'boolean', title: 'Deploy', default: false },
  locale: { type: 'string', title: 'Configuration Locale', default: 'en-US', maxLength: 35 },
};

type JsonSchema = Record<string, unknown>;

function fieldSchema(field: SettingField): JsonSchema {
  const out: JsonSchema = { title: field.title };
  if (field.description) out.description = field.description;
  if (field.default !== undefined) out.default = field.default;
  if (field.secret) {
    out.writeOnly = true;
    out['x-secret'] = true;
  }
  switch (field.type) {
    case 'string-map':
      Object.assign(out, { type: 'object', additionalProperties: { type: 'string', maxLength: 2000 } });
      break;
    case 'string':
      Object.assign(out, { type: 'string', maxLength: field.maxLength ?? (field.multiline ? 65_536 : 2000) });
      if (field.minLength !== undefined) out.minLength = field.minLength;
      if (field.enum) out.enum = [...field.enum];
      if (field.format) out.format = field.format;
      if (field.pattern) out.pattern = field.pattern;
      break;
    default:
      out.type = field.type;
      if (field.minimum !== undefined) out.minimum = field.minimum;
      if (field.maximum !== undefined) out.maximum = field.maximum;
  }
  return out;
}

/** JSON Schema of one settings group (`GET /v1/gateway-types`). */
export function groupJsonSchema(fields: Record<string, SettingField>): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  for (const [name, field] of Object.entries(fields)) {
    properties[name] = fieldSchema(field);
    if (field.required) required.push(name);
  }
  return { type: 'object', additionalProperties: false, properties, ...(required.length ? { required } : {}) };
}

/** The whole settings schema of a type, common basic fields included. */
export function fullSettingsSchema(schema: SettingsSchema): Record<SettingsGroup, Record<string, SettingField>> {
  return { basic: { ...COMMON_BASIC_FIELDS, ...schema.basic }, configuration: schema.configuration, additional: schema.additional };
}

function describe(error: ErrorObject, group: string): FieldProblem {
  const base = `settings.${group}${error.instancePath.replace(/\//g, '.')}`;
  switch (error.keyword) {
    case 'additionalProperties':
      return { field: `${base}.${(error.params as { additionalProperty: string }).additionalProperty}`, message: 'is not a known setting' };
    case 'required':
      return { field: `${base}.${(error.params as { missingProperty: string }).missingProperty}`, message: 'is required' };
    case 'enum':
      return { field: base, message: `must be one of ${(error.params as { allowedValues: unknown[] }).allowedValues.join(', ')}` };
    default:
      return { field: base, message: error.message ?? 'is invalid' };
  }
}

/** Validates settings groups against a type's declarations, applying defaults. */
export class SettingsValidator {
  private readonly validators = new Map<SettingsGroup, ValidateFunction>();
  private readonly partialValidators = new Map<SettingsGroup, ValidateFunction>();
  readonly fields: Record<SettingsGroup, Record<string, SettingField>>;

  constructor(schema: SettingsSchema) {
    this.fields = fullSettingsSchema(schema);
    const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false });
    addFormats(ajv);
    for (const group of SETTINGS_GROUPS) {
      const json = groupJsonSchema(this.fields[group]);
      this.validators.set(group, ajv.compile(json));
      this.partialValidators.set(group, ajv.compile({ ...json, required: undefined, properties: stripDefaults(json.properties as Record<string, JsonSchema>) }));
    }
  }

  /**
   * Full validation (create, or the merged result of a patch): returns problems naming each field, or [] when the
   * values are valid; defaults are written into `values`.
   */
  validate(values: Record<string, Record<string, unknown>>): FieldProblem[] {
    const problems: FieldProblem[] = [];
    for (const key of Object.keys(values)) {
      if (!(SETTINGS_GROUPS as readonly string[]).includes(key)) problems.push({ field: `settings.${key}`, message: 'is not a settings group (basic, configuration, additional)' });
    }
    for (const group of SETTINGS_GROUPS) {
      const groupValues = (values[group] ??= {});
      if (typeof groupValues !== 'object' || Array.isArray(groupValues)) {
        problems.push({ field: `settings.${group}`, message: 'must be an object' });
        continue;
      }
      const validate = this.validators.get(group)!;
      if (!validate(groupValues)) problems.push(...(validate.errors ?? []).map((e) => describe(e, group)));
    }
    return problems;
  }

  /** Shape-only check of a patch (no required fields, no defaults), so errors name the operator's own fields. */
  validatePatch(values: Record<string, Record<string, unknown>>): FieldProblem[] {
    const problems: FieldProblem[] = [];
    for (const [group, groupValues] of Object.entries(values)) {
      const validate = this.partialValidators.get(group as SettingsGroup);
      if (!validate) {
        problems.push({ field: `settings.${group}`, message: 'is not a settings group (basic, configuration, additional)' });
        continue;
      }
      if (!validate(groupValues)) problems.push(...(validate.errors ?? []).map((e) => describe(e, group)));
    }
    return problems;
  }

  isSecret(group: SettingsGroup, field: string): boolean {
    return this.fields[group][field]?.secret === true;
  }
}

function stripDefaults(properties: Record<string, JsonSchema>): Record<string, JsonSchema> {
  return Object.fromEntries(Object.entries(properties).map(([k, v]) => [k, { ...v, default: undefined }]));
}
