/**
 * Dependency rules, checked by `npm run lint:deps` in CI (.ci/run). Test-only files are the specs and the helpers
 * named `*-test.*`, `*.spec-helpers.ts` or `*.fixtures.ts`: they may reach simulators and dev tools.
 */
const TEST_FILES = '(\\.spec\\.ts|\\.spec-helpers\\.ts|-test\\.[a-z.]+\\.ts|\\.fixtures\\.ts)$';


/**
 * The service's modules, lowest first: a module imports only modules below it (arrows point down), so no two
 * modules import each other. Where a lower module must wake a higher one it enqueues a job or calls an interface the
 * higher one provides.
 */
const LAYERS = ['config', 'common', 'crypto', 'database', 'auth', 'queues', 'metrics', 'health', 'domains', 'accounts', 'gateways', 'conversations', 'delivery', 'escalations', 'channels', 'webchat', 'inbound', 'workers'];

/** What each module lets others use (files under src/<module>/); the rest is its own. */
const PUBLIC = {
  config: ['app-config'],
  common: ['.+'],
  crypto: ['secret-cipher'],
  database: ['combined-statement', 'database', 'entities', 'grouped-writes', 'prepared', 'row-lease', 'unique-violation'],
  auth: ['auth.module', 'auth.decorators', 'auth.guard', 'domain-scope', 'api-keys.service', 'accounts.repository', 'authorities'],
  queues: ['queues', 'queues.module', 'job-dispatcher.service', 'lease', 'redis-connection', 'redis-lock', 'scheduled-prune', 'queue-errors', 'queue-dashboard'],
  metrics: ['metrics.module', 'metrics.service', 'http-labels'],
  health: ['health.controller'],
  domains: ['domains.module', 'domains.service'],
  accounts: ['accounts.module'],
  gateways: ['gateways.module', 'gateways.service', 'gateway-registry', 'gateway-context.factory'],
  conversations: ['conversations.module', 'conversations.repository', 'conversations.dto', 'event-views'],
  delivery: ['delivery.module', 'delivery.service', 'delivery-claims.repository', 'delivery.types', 'event-schemas'],
  escalations: [
    'escalations.module',
    'escalations.service',
    'escalations.dto',
    'escalations.repository',
    'escalation-contexts.service',
    'escalation-lifecycle.service',
    'escalation-recorder.service',
    'relay-drainer.service',
    'escalation-policy',
    'switchboard-hooks',
    'file-links',
  ],
  channels: ['channels.module', 'channel-ingest.service', 'hosted-channel.registry', 'channel-outbox.service', 'channel-sender.service', 'channel-events'],
  webchat: ['webchat.module'],
  inbound: ['inbound.module', 'webhook-intake.route', 'inbound-passes.service', 'close-wait.service', 'poll.service', 'poll-schedulers.service'],
  workers: ['workers.module'],
};

const layerRules = LAYERS.map((module, i) => ({
  name: `layers-${module}`,
  comment: `${module} imports only the modules below it (${LAYERS.slice(0, i).join(', ') || 'none'}).`,
  severity: 'error',
  from: { path: `^src/${module}/` },
  to: { path: `^src/(${LAYERS.slice(i + 1).join('|') || '$none'})/` },
}));

const internalsRules = Object.entries(PUBLIC).map(([module, files]) => ({
  name: `internals-${module}`,
  comment: `Outside ${module}, only what it makes public: ${files.join(', ')}.`,
  severity: 'error',
  // Tests may reach a module's own parts: they test them.
  from: { path: '^(src|bench|scripts)/', pathNot: `^src/${module}/` },
  to: { path: `^src/${module}/`, pathNot: `^src/${module}/(${files.join('|')})\\.ts$` },
}));

module.exports = {
  forbidden: [
    ...layerRules,
    ...internalsRules,
    {
      name: 'no-cycle',
      comment: 'Files importing each other at run time (type-only imports excepted: they leave nothing behind).',
      severity: 'error',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'orm-internals',
      comment: "TypeORM's driver is reached in one place (src/database), not from every service that wants its pool.",
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/database/' },
      to: { path: '^node_modules/typeorm/driver/' },
    },
    {
      name: 'runtime-to-dev-dependency',
      comment: 'The production image prunes devDependencies: what the service loads at run time must be a dependency.',
      severity: 'error',
      from: { path: '^(src|libs/(gateway-sdk|gateways|client))/', pathNot: TEST_FILES },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'bot-framework-sdk-test-only',
      comment: "Microsoft's Bot Framework SDK is the Teams simulator's fidelity check: specs may use it, our code may not (the gateway and the simulator implement the protocol themselves).",
      severity: 'error',
      from: { pathNot: TEST_FILES },
      to: { path: 'node_modules/(botframework-connector|botbuilder[^/]*)/' },
    },
    {
      name: 'twilio-sdk-test-only',
      comment: "Twilio's Node library is the Twilio simulator's and gateway's fidelity check: specs may use it, our code may not (both implement the protocol themselves).",
      severity: 'error',
      from: { pathNot: TEST_FILES },
      to: { path: 'node_modules/twilio/' },
    },
    {
      name: 'runtime-to-unlisted-package',
      comment: 'A package the service loads must be listed in package.json, not reached through another one.',
      severity: 'error',
      from: { path: '^(src|libs)/' },
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown'] },
    },
    {
      name: 'gateway-beyond-sdk',
      comment: 'A gateway type sees the service only through libs/gateway-sdk (and npm packages).',
      severity: 'error',
      from: { path: '^libs/gateways/', pathNot: TEST_FILES },
      to: { path: '^(src|bench|scripts|test|libs/(simulators|client))/' },
    },
    {
      name: 'sdk-standalone',
      comment: 'The gateway SDK is the contract gateways build on: it depends on nothing of the project.',
      severity: 'error',
      from: { path: '^libs/gateway-sdk/', pathNot: TEST_FILES },
      to: { path: '^(src|bench|scripts|test|libs/(gateways|simulators|client))/' },
    },
    {
      name: 'simulator-to-service',
      comment: 'Simulators stand for external platforms: they know the protocols, not the service.',
      severity: 'error',
      from: { path: '^libs/simulators/' },
      to: { path: '^(src|libs/gateways)/' },
    },
    {
      name: 'service-to-simulator',
      comment: 'The service never runs a simulator (only tests, the demo and benchmarks do).',
      severity: 'error',
      from: { path: '^src/', pathNot: TEST_FILES },
      to: { path: '^libs/simulators/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
