export * from './webhook-signature';
export * from './escalation-producer';
