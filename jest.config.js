/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/src', '<rootDir>/adapters', '<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    'node_modules/fhir-kit-client/.+\\.js$': ['@swc/jest', { jsc: { parser: { syntax: 'ecmascript' }, target: 'es2022' }, module: { type: 'commonjs' } }],
    '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  // fhir-kit-client 2 ships ESM only (exports "import" alone): map it to its entry file and let swc turn it into
  // CommonJS for jest. Production code loads it with a real dynamic import().
  moduleNameMapper: { '^fhir-kit-client$': '<rootDir>/node_modules/fhir-kit-client/dist/index.js' },
  transformIgnorePatterns: ['/node_modules/(?!fhir-kit-client/)'],
  // Integration tests start real Orthanc/FHIR processes; give them room.
  testTimeout: 120000,
  // The e2e log proof (test/support/log-capture.ts): capture every service log line, check them all at the end.
  globalSetup: '<rootDir>/test/support/log-capture-setup.ts',
  globalTeardown: '<rootDir>/test/support/log-capture-teardown.ts',
};
