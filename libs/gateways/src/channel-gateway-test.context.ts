import {
  MemoryTokenCache,
  OutboundHttp,
  OutboundHttpClient,
  SETTINGS_GROUPS,
  SettingsGroup,
  SettingsSchema,
  SettingsValues,
  TokenCache,
} from '@app/gateway-sdk';

/** The service's outbound HTTP as tests use it (the simulator is on the loopback), recording the URLs requested. */
export class RecordingHttp implements OutboundHttp {
  readonly requested: string[] = [];
  private readonly inner = new OutboundHttpClient({ allowPrivateNetworks: true });
  fetch: OutboundHttp['fetch'] = (input, init) => {
    this.requested.push(String(input));
    return this.inner.fetch(input, init);
  };
  send: OutboundHttp['send'] = (request) => {
    this.requested.push(request.url);
    return this.inner.send(request);
  };
  destroy(): void {
    this.inner.destroy();
  }
}

/**
 * The service's token cache with a clock the test can move forward: entries expire as they would that much later,
 * so token renewal is tested without waiting.
 */
export class AdvancingTokenCache implements TokenCache {
  private readonly inner = new MemoryTokenCache();
  offsetMs = 0;
  get(key: string) {
    const entry = this.inner.get(key);
    return entry && entry.expiresAt > Date.now() + this.offsetMs ? entry : undefined;
  }
  set(key: string, token: string, expiresAt: number): void {
    this.inner.set(key, token, expiresAt);
  }
  delete(key: string): void {
    this.inner.delete(key);
  }
}

/** A line a gateway logged during a test. */
export interface LogLine {
  level: string;
  message: string;
  fields?: Record<string, unknown>;
}

/** A gateway type's settings as the service hands them over: every default of `schema`, then the test's values. */
export function settingsWithDefaults(schema: SettingsSchema, values: Partial<Record<SettingsGroup, Record<string, unknown>>>): SettingsValues {
  const settings = {} as SettingsValues;
  for (const group of SETTINGS_GROUPS) {
    settings[group] = {};
    for (const [name, field] of Object.entries(schema[group])) if (field.default !== undefined) settings[group][name] = field.default;
    Object.assign(settings[group], values[group] ?? {});
  }
  return settings;
}
