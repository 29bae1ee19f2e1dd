import { Injectable, OnModuleInit } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { CHAT_GATEWAY_METADATA, ChatGateway } from '@app/gateway-sdk';
import { DomainError } from '../common/domain-error';
import { SettingsValidator } from './settings-validator';

export class DuplicateGatewayTypeError extends Error {
  constructor(type: string) {
    super(`Two gateway providers declare the type '${type}'; refusing to start`);
  }
}

/** A registered gateway type: the provider plus its compiled settings validator. */
export interface RegisteredGateway {
  gateway: ChatGateway;
  validator: SettingsValidator;
}

/** Discovers every provider marked @ChatGatewayPlugin() at boot; a duplicate type stops the boot. */
@Injectable()
export class GatewayRegistry implements OnModuleInit {
  private readonly types = new Map<string, RegisteredGateway>();

  constructor(private readonly discovery: DiscoveryService) {}

  onModuleInit(): void {
    for (const wrapper of this.discovery.getProviders()) {
      const { metatype, instance } = wrapper;
      if (!metatype || !instance || typeof metatype !== 'function') continue;
      if (!Reflect.getMetadata(CHAT_GATEWAY_METADATA, metatype)) continue;
      this.register(instance as ChatGateway);
    }
  }

  register(gateway: ChatGateway): void {
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
}
