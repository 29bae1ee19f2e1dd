// One runner, three tiers. Nest 12 and MSAL ship as ES modules; Jest's CommonJS runtime on Node 20 cannot
// require() them, so swc compiles those packages to CommonJS on the way in (cached after the first run).
const esmPackages = ['@nestjs', '@azure'];
const transform = {
  '^.+\\.ts$': ['@swc/jest'],
  '^.+\\.m?js$': ['@swc/jest', { jsc: { parser: { syntax: 'ecmascript' }, target: 'es2022' }, module: { type: 'commonjs' } }],
};
const moduleNameMapper = {
  '^@app/(gateway-sdk|gateways|simulators|client)$': '<rootDir>/libs/$1/src',
  '^@app/(gateway-sdk|gateways|simulators|client)/(.*)$': '<rootDir>/libs/$1/src/$2',
};
const common = {
  rootDir: __dirname,
  transform,
  transformIgnorePatterns: [`/node_modules/(?!(${esmPackages.join('|')})/)`],
  moduleNameMapper,
  testEnvironment: 'node',
};
module.exports = {
  // Integration and end-to-end tests wait on conditions (waitFor: 10 s each). Jest's 5 s default per test cut correct
  // runs short on a loaded 2-core machine; the bound is for a broken run only. A global option: Jest reads it from the
  // root of the configuration, not from a project.
  testTimeout: 60_000,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/libs/**/*.spec.ts'] },
    { ...common, displayName: 'integration', testMatch: ['<rootDir>/test/**/*.int-spec.ts'], setupFiles: ['<rootDir>/test/support/env.ts'] },
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'], setupFiles: ['<rootDir>/test/support/env.ts'] },
  ],
};
