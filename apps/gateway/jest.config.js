module.exports = {
  ...require('../../jest.preset.js'),
  rootDir: __dirname,
  // On two cores jest runs these files in one process; a kafkajs client whose retries never give up
  // (the tick source's, by design) can keep it alive after the last test. Every test stops what it
  // started; this only makes sure a straggler cannot hold a CI run until its deadline.
  forceExit: true,
};
