import { PlatformEvent } from '@app/gateway-sdk';

/**
 * An event the service itself decides (queued on start, an end by timeout, steal or user), under a key of its own
 * (`svc:`), so that recording it twice stores it once.
 */
export const serviceEvent = <T extends PlatformEvent['type']>(type: T, key: string, data: Extract<PlatformEvent, { type: T }>['data']): PlatformEvent =>
  ({ type, key: `svc:${key}`, occurredAt: new Date(), data }) as PlatformEvent;
