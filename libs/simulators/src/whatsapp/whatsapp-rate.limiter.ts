import { SimulatorClock } from '../clock/simulator-clock';

export const WHATSAPP_DEFAULT_THROUGHPUT = 80;
export const WHATSAPP_PAIR_BURST = 45;
export const WHATSAPP_PAIR_INTERVAL_MS = 6_000;

/**
 * Meta's two send limits on the simulator's clock: throughput per business number (a sliding one-second window,
 * 130429 above it) and the pair rate per (number, user) (a token bucket: a burst, then one message per interval,
 * 131056 when empty). A refused send does not count against either.
 */
export class WhatsAppRateLimiter {
  private readonly sends = new Map<string, number[]>();
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly clock: SimulatorClock,
    public throughputPerSecond = WHATSAPP_DEFAULT_THROUGHPUT,
    public pairBurst = WHATSAPP_PAIR_BURST,
    public pairIntervalMs = WHATSAPP_PAIR_INTERVAL_MS,
  ) {}

  /** The error code refusing this send now, or undefined when it is allowed (and then counted). */
  take(phoneNumberId: string, to: string): 130429 | 131056 | undefined {
    const now = this.clock.now();
    const times = (this.sends.get(phoneNumberId) ?? []).filter((at) => at > now - 1_000);
    this.sends.set(phoneNumberId, times);
    if (times.length >= this.throughputPerSecond) return 130429;
    const key = `${phoneNumberId}|${to}`;
    const bucket = this.buckets.get(key) ?? { tokens: this.pairBurst, at: now };
    const refilled = Math.min(this.pairBurst, bucket.tokens + (now - bucket.at) / this.pairIntervalMs);
    if (refilled < 1) {
      this.buckets.set(key, { tokens: refilled, at: now });
      return 131056;
    }
    this.buckets.set(key, { tokens: refilled - 1, at: now });
    times.push(now);
    return undefined;
  }

  reset(): void {
    this.sends.clear();
    this.buckets.clear();
  }
}
