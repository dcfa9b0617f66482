// Shared jest settings: @swc/jest compiles TypeScript (with decorators and their metadata for Nest)
// and workspace packages resolve to their sources, so a package's tests never wait on a build.
const path = require('node:path');

module.exports = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.(t|j)sx?$': [
      '@swc/jest',
      {
        jsc: {
          target: 'es2022',
          parser: { syntax: 'typescript', decorators: true },
          transform: { legacyDecorator: true, decoratorMetadata: true },
        },
        module: { type: 'commonjs' },
      },
    ],
  },
  moduleNameMapper: {
    '^@tickhub/([a-z-]+)$': path.join(__dirname, 'packages/$1/src/index.ts'),
    '^@tickhub/([a-z-]+)/(.+)$': path.join(__dirname, 'packages/$1/src/$2'),
  },
  testMatch: ['<rootDir>/{src,test}/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
};
