export * from './whatsapp-simulator';
export * from './whatsapp-simulator.types';
export { WhatsAppControlError, SERVICE_WINDOW_MS, TYPING_INDICATOR_MS } from './whatsapp-business.store';
export { WHATSAPP_DEFAULT_THROUGHPUT, WHATSAPP_PAIR_BURST, WHATSAPP_PAIR_INTERVAL_MS } from './whatsapp-rate.limiter';
export { hubSignature, metaJson } from './whatsapp-webhook.sender';
