import { Injectable } from '@nestjs/common';
import type { HostedChannel } from '@app/gateway-sdk';

/**
 * The hosted channels (served by this service itself, like web chat over Direct Line) by gateway type. The module
 * serving one registers it at boot; a send on a gateway of that type gets it as `ChannelContext.hosted`.
 */
@Injectable()
export class HostedChannelRegistry {
  private readonly hosted = new Map<string, HostedChannel>();

  register(gatewayType: string, hosted: HostedChannel): void {
    if (this.hosted.has(gatewayType)) throw new Error(`A hosted channel is already registered for gateway type '${gatewayType}'`);
    this.hosted.set(gatewayType, hosted);
  }

  find(gatewayType: string): HostedChannel | undefined {
    return this.hosted.get(gatewayType);
  }
}
