export * from './chat-gateway';
export * from './chat-gateway.decorator';
export * from './gateway-error';
export * from './memory-token-cache';
export * from './normalized';
export * from './retry';
export * from './settings-schema';
