import { Injectable, OnModuleInit } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { AnyGateway, CHAT_GATEWAY_METADATA, ChannelGateway, ChatGateway, isChannelGateway } from '@app/gateway-sdk';
import { DomainError } from '../common/domain-error';
import { SettingsValidator } from './settings-validator';

export class DuplicateGatewayTypeError extends Error {
  constructor(type: string) {
    super(`Two gateway providers declare the type '${type}'; refusing to start`);
  }
}

/** A registered gateway type: the provider plus its compiled settings validator. */
export interface RegisteredGateway<G extends AnyGateway = AnyGateway> {
  gateway: G;
  validator: SettingsValidator;
}

const isEscalation = (registered: RegisteredGateway): registered is RegisteredGateway<ChatGateway> => !isChannelGateway(registered.gateway);
const isChannel = (registered: RegisteredGateway): registered is RegisteredGateway<ChannelGateway> => isChannelGateway(registered.gateway);

/**
 * Discovers every provider marked @ChatGatewayPlugin() at boot (escalation and channel types alike; each definition
 * says its kind); a duplicate type stops the boot. Callers that need one kind use the typed lookups.
 */
@Injectable()
export class GatewayRegistry implements OnModuleInit {
  private readonly types = new Map<string, RegisteredGateway>();

  constructor(private readonly discovery: DiscoveryService) {}

  onModuleInit(): void {
    for (const wrapper of this.discovery.getProviders()) {
      const { metatype, instance } = wrapper;
      if (!metatype || !instance || typeof metatype !== 'function') continue;
      if (!Reflect.getMetadata(CHAT_GATEWAY_METADATA, metatype)) continue;
      this.register(instance as AnyGateway);
    }
  }

  register(gateway: AnyGateway): void {
    const type = gateway.definition.type;
    if (this.types.has(type)) throw new DuplicateGatewayTypeError(type);
    this.types.set(type, { gateway, validator: new SettingsValidator(gateway.definition.settings) });
  }

  list(): RegisteredGateway[] {
    return [...this.types.values()].sort((a, b) => a.gateway.definition.type.localeCompare(b.gateway.definition.type));
  }

  find(type: string): RegisteredGateway | undefined {
    return this.types.get(type);
  }

  get(type: string): RegisteredGateway {
    const found = this.types.get(type);
    if (!found) throw new DomainError('invalid_state', `Gateway type '${type}' is not available in this deployment`);
    return found;
  }

  /** The escalation gateway type of this code; undefined when there is none, or it is a channel type. */
  findEscalation(type: string): RegisteredGateway<ChatGateway> | undefined {
    const found = this.types.get(type);
    return found && isEscalation(found) ? found : undefined;
  }

  getEscalation(type: string): RegisteredGateway<ChatGateway> {
    const found = this.findEscalation(type);
    if (!found) throw new DomainError('invalid_state', `Escalation gateway type '${type}' is not available in this deployment`);
    return found;
  }

  /** The channel gateway type of this code; undefined when there is none, or it is an escalation type. */
  findChannel(type: string): RegisteredGateway<ChannelGateway> | undefined {
    const found = this.types.get(type);
    return found && isChannel(found) ? found : undefined;
  }

  getChannel(type: string): RegisteredGateway<ChannelGateway> {
    const found = this.findChannel(type);
    if (!found) throw new DomainError('invalid_state', `Channel gateway type '${type}' is not available in this deployment`);
    return found;
  }
}
