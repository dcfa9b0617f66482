import { parentPort, workerData } from 'node:worker_threads';
import { createLogger } from '@tickhub/log';
import { errorText } from './error-text';
import { LocalLane, type WorkerInit, type WorkerReply, type WorkerRequest } from './lanes';

// One kafkajs producer in a worker thread, driven by a WorkerLane in the main thread.
const init = workerData as WorkerInit;
const port = parentPort!;
const log = createLogger({ app: 'ingester', level: init.logLevel, format: init.logFormat }).child(
  `producer-lane-${init.lane}`,
);
const lane = new LocalLane(init.config, log, () =>
  port.postMessage({ event: 'disconnect' } satisfies WorkerReply),
);

port.on('message', (request: WorkerRequest) => {
  const run =
    request.op === 'connect'
      ? lane.connect()
      : request.op === 'send'
        ? lane.send(request.slice)
        : lane.disconnect();
  run.then(
    () => port.postMessage({ id: request.id, ok: true } satisfies WorkerReply),
    (err: unknown) =>
      port.postMessage({ id: request.id, ok: false, error: errorText(err) } satisfies WorkerReply),
  );
});

// A broker going away can surface as a stray rejection inside kafkajs: log it, keep the lane alive.
process.on('unhandledRejection', (reason) =>
  log.warn('unhandled rejection in producer lane', { error: errorText(reason) }),
);
