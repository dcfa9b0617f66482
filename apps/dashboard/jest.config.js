// Browser tests start a real gateway and a real Chromium: run them one file at a time, with room to spare.
module.exports = {
  ...require('../../jest.preset.js'),
  rootDir: __dirname,
  testTimeout: 120_000,
};
