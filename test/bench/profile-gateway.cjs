// Starts the built gateway under the CPU profiler and writes the profile when it is stopped (SIGTERM),
// for `node test/bench/run.mjs --gateway-main test/bench/profile-gateway.cjs`: node refuses --cpu-prof in
// NODE_OPTIONS, and the harness stops its servers with SIGTERM, which --cpu-prof would not survive.
//   PROFILE_DIR   where `gateway-<pid>.cpuprofile` goes (default /tmp/tickhub-profile)
//   GATEWAY_MAIN  the gateway build to profile (default apps/gateway/dist/main.js)
const fs = require('node:fs');
const inspector = require('node:inspector');
const path = require('node:path');

const dir = process.env.PROFILE_DIR || '/tmp/tickhub-profile';
const main = path.resolve(
  process.env.GATEWAY_MAIN || path.join(__dirname, '../../apps/gateway/dist/main.js'),
);
const session = new inspector.Session();
session.connect();
session.post('Profiler.enable', () =>
  session.post('Profiler.setSamplingInterval', { interval: 500 }, () =>
    session.post('Profiler.start', () => {
      // Before the gateway's own SIGTERM handler, which drains and exits.
      process.prependOnceListener('SIGTERM', () => {
        session.post('Profiler.stop', (error, result) => {
          if (error) return process.stderr.write(`profile not written: ${error.message}\n`);
          fs.mkdirSync(dir, { recursive: true });
          const file = path.join(dir, `gateway-${process.pid}.cpuprofile`);
          fs.writeFileSync(file, JSON.stringify(result.profile));
          process.stderr.write(`profile written to ${file}\n`);
        });
      });
      require(main).startGateway();
    }),
  ),
);
