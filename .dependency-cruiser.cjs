/**
 * Dependency rules, checked by `npm run lint:deps` in CI (.ci/run). Test-only files are the specs and the helpers
 * named `*-test.*`, `*.spec-helpers.ts` or `*.fixtures.ts`: they may reach simulators and dev tools.
 */
const TEST_FILES = '(\\.spec\\.ts|\\.spec-helpers\\.ts|-test\\.[a-z.]+\\.ts|\\.fixtures\\.ts)$';

module.exports = {
  forbidden: [
    {
      name: 'runtime-to-dev-dependency',
      comment: 'The production image prunes devDependencies: what the service loads at run time must be a dependency.',
      severity: 'error',
      from: { path: '^(src|libs/(gateway-sdk|gateways|client))/', pathNot: TEST_FILES },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
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
