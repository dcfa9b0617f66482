// The tests start the built gateway: apps/gateway/dist/main.js must exist (turbo.json says so).
module.exports = { ...require('../../jest.preset.js'), rootDir: __dirname, testTimeout: 120_000 };
