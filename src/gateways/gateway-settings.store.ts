import { Injectable } from '@nestjs/common';
import { SETTINGS_GROUPS, SettingsGroup, SettingsValues } from '@app/gateway-sdk';
import { MASK } from '../common/redact';
import { SecretCipher } from '../crypto/secret-cipher';
import { SettingsValidator } from './settings-validator';

/** Stored settings: like SettingsValues, but secret values are `{ $enc }` envelopes. */
export type StoredSettings = Record<string, Record<string, unknown>>;
const COLUMN_FIELDS = new Set(['name', 'domain', 'deployed', 'locale']);

function isSealed(value: unknown): value is { $enc: string } {
  return typeof value === 'object' && value !== null && typeof (value as { $enc?: unknown }).$enc === 'string';
}

/** Converts settings between their three forms: plain (validated), stored (secrets sealed) and shown (secrets masked). */
@Injectable()
export class GatewaySettingsStore {
  constructor(private readonly cipher: SecretCipher) {}

  /** Plain validated values -> stored form; the common basic fields live in columns, not here. */
  seal(values: SettingsValues, validator: SettingsValidator): StoredSettings {
    const out: StoredSettings = {};
    for (const group of SETTINGS_GROUPS) {
      out[group] = {};
      for (const [field, value] of Object.entries(values[group] ?? {})) {
        if (group === 'basic' && COLUMN_FIELDS.has(field)) continue;
        out[group][field] = validator.isSecret(group, field) && typeof value === 'string' ? { $enc: this.cipher.encrypt(value) } : value;
      }
    }
    return out;
  }

  /** Stored form -> plain values (secrets decrypted), for gateways only. */
  open(stored: StoredSettings): SettingsValues {
    const out = { basic: {}, configuration: {}, additional: {} } as SettingsValues;
    for (const group of SETTINGS_GROUPS) {
      for (const [field, value] of Object.entries(stored[group] ?? {})) {
        out[group][field] = isSealed(value) ? this.cipher.decrypt(value.$enc) : value;
      }
    }
    return out;
  }

  /** Stored form -> what responses and audit records show: secrets masked. */
  mask(stored: StoredSettings): SettingsValues {
    const out = { basic: {}, configuration: {}, additional: {} } as SettingsValues;
    for (const group of SETTINGS_GROUPS) {
      for (const [field, value] of Object.entries(stored[group] ?? {})) out[group][field] = isSealed(value) ? MASK : value;
    }
    return out;
  }

  /** Which `group.field` paths differ between two stored settings (secrets compared by plaintext). */
  changedFields(before: StoredSettings, after: StoredSettings): string[] {
    const changed: string[] = [];
    for (const group of SETTINGS_GROUPS) {
      const keys = new Set([...Object.keys(before[group] ?? {}), ...Object.keys(after[group] ?? {})]);
      for (const key of keys) {
        const a = before[group]?.[key];
        const b = after[group]?.[key];
        const plainA = isSealed(a) ? this.cipher.decrypt(a.$enc) : a;
        const plainB = isSealed(b) ? this.cipher.decrypt(b.$enc) : b;
        if (JSON.stringify(plainA) !== JSON.stringify(plainB)) changed.push(`${group}.${key}`);
      }
    }
    return changed;
  }

  static group(path: string): SettingsGroup {
    return path.split('.')[0] as SettingsGroup;
  }
}
