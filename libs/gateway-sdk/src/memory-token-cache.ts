import { TokenCache } from './chat-gateway';

/**
 * The TokenCache the service gives every gateway (one per process, keyed by the gateway's credentials), and the one
 * gateway tests use: a Map whose entries are dropped once expired.
 */
export class MemoryTokenCache implements TokenCache {
  private readonly entries = new Map<string, { token: string; expiresAt: number }>();

  get(key: string) {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  set(key: string, token: string, expiresAt: number): void {
    this.entries.set(key, { token, expiresAt });
  }

  delete(key: string): void {
    this.entries.delete(key);
  }
}
