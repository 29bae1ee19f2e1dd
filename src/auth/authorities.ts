/** Every authority a route can require. */
export const AUTHORITIES = [
  'gateways:configure',
  'conversations:observe',
  'conversations:pickup',
  'conversations:start',
  'conversations:steal',
  'conversations:transfer',
  'metrics:read',
] as const;
export type Authority = (typeof AUTHORITIES)[number];

/**
 * The group the product documentation's gateway integrations overview describes: gateway configuration plus the five
 * conversation authorities (and the metrics).
 */
export const GLOBAL_GATEWAY_SERVICE_ROLE = 'Global Gateway Service';

/** Roles created at first start. */
export const BUILT_IN_ROLES: { name: string; description: string; authorities: Authority[] }[] = [
  {
    name: GLOBAL_GATEWAY_SERVICE_ROLE,
    description: 'Configures gateways, observes, picks up, starts, steals and transfers conversations, and reads the metrics.',
    authorities: [...AUTHORITIES],
  },
  {
    name: 'Integrator',
    description: 'Starts escalations, relays user messages and reads conversations.',
    authorities: ['conversations:start', 'conversations:observe'],
  },
  { name: 'Observer', description: 'Reads conversations, escalations and events.', authorities: ['conversations:observe'] },
  { name: 'Metrics Reader', description: 'Reads /metrics (a Prometheus scraper).', authorities: ['metrics:read'] },
];

export const GATEWAY_SERVICE_ACCOUNT = 'gatewayservice';
