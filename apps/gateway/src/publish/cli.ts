import { parseArgs } from 'node:util';
import { parseVariables } from '@tickhub/config';
import { createUniverse } from '@tickhub/market-sim';
import { Kafka, logLevel } from 'kafkajs';
import { GATEWAY_VARIABLES } from '../variables';
import { OrderBlotter } from './blotter';
import type { HubMessage, PublishTarget } from './hub-message';
import { parseHubMessage } from './hub-message';
import { signPublishToken } from './publish-token';

const USAGE = `Sends one server-published message to a hub's clients, over the REST API or Kafka.

  npm run publish -- --user alice --target ReceiveMessage --args '["ops","hello"]'
  npm run publish -- --group desk-1 --target fill --args '[{"symbol":"AAPL"}]' --via kafka
  npm run publish -- --token http://127.0.0.1:8080/api/v1/hubs/chathub/users/alice   (prints a token)

  recipients   --all (default) | --user ID | --group ID | --connection ID   [--excluded ID]...
  message      --hub NAME (chathub) --target METHOD (ReceiveMessage) --args JSON-ARRAY ([])
  --via rest   --url GATEWAY (http://127.0.0.1:8080); key from PUBLISH_ACCESS_KEY, or
               --connection-string "Endpoint=http://host:8080;AccessKey=…;Version=1.0;"
  --via kafka  brokers from KAFKA_BROKERS or --brokers; topic as the gateway's (PUBLISH_KAFKA_TOPIC)
  --blotter alice,bob [--interval-ms 2000] [--count N]
               a toy order blotter: fills of random orders for those users, as ReceiveEvent(fill) on
               the market hub (the dashboard's "My events" panel), until N are sent (0: forever)
`;

/** Lifetime of a token this tool signs: one request, so a minute is plenty. */
const TOKEN_TTL_S = 60;

function connectionString(value: string): { endpoint: string; key: string } {
  const fields = new Map(
    value
      .split(';')
      .filter((part) => part.includes('='))
      .map((part) => {
        const eq = part.indexOf('=');
        return [part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim()] as const;
      }),
  );
  const endpoint = fields.get('endpoint');
  const key = fields.get('accesskey');
  if (!endpoint || !key) throw new Error('the connection string needs Endpoint and AccessKey');
  const port = fields.get('port');
  const url = new URL(endpoint);
  if (port) url.port = port;
  return { endpoint: url.origin, key };
}

function recipients(values: Record<string, unknown>): PublishTarget {
  const chosen = (['user', 'group', 'connection'] as const).filter((kind) => values[kind] !== undefined);
  if (chosen.length > 1 || (chosen.length === 1 && values.all))
    throw new Error('choose one kind of recipient');
  const kind = chosen[0];
  return kind ? { kind, id: String(values[kind]) } : { kind: 'all' };
}

function restPath(message: HubMessage): string {
  const hub = encodeURIComponent(message.hub.toLowerCase());
  const to = message.to;
  const tail =
    to.kind === 'all' ? '' : `/${to.kind === 'user' ? 'users' : `${to.kind}s`}/${encodeURIComponent(to.id)}`;
  return `/api/v1/hubs/${hub}${tail}`;
}

interface Sender {
  send(message: HubMessage): Promise<string>;
  close(): Promise<void>;
}

function restSender(endpoint: string, key: string): Sender {
  return {
    async send(message) {
      const url = `${endpoint.replace(/\/+$/, '')}${restPath(message)}`;
      const query = (message.excluded ?? []).map((id) => `excluded=${encodeURIComponent(id)}`).join('&');
      const res = await fetch(query ? `${url}?${query}` : url, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${signPublishToken(url, key, TOKEN_TTL_S)}`,
          'content-type': 'application/json; charset=utf-8',
        },
        body: JSON.stringify({ target: message.target, arguments: message.arguments }),
      });
      const body = await res.text();
      if (res.status !== 202) throw new Error(`${res.status} ${body}`);
      return `202 accepted: ${url}`;
    },
    close: async () => undefined,
  };
}

async function kafkaSender(brokers: string[], topic: string): Promise<Sender> {
  const kafka = new Kafka({ clientId: 'tickhub-publish-cli', brokers, logLevel: logLevel.ERROR });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  return {
    async send(message) {
      // One key per recipient keeps that recipient's messages in order.
      const key = message.to.kind === 'all' ? message.hub : `${message.to.kind}:${message.to.id}`;
      const [meta] = await producer.send({ topic, messages: [{ key, value: JSON.stringify(message) }] });
      return `produced to ${topic}[${meta?.partition}] at offset ${meta?.baseOffset}`;
    },
    close: () => producer.disconnect(),
  };
}

async function openSender(
  values: { via?: string; url: string; brokers?: string },
  key: string | undefined,
  endpoint: string | undefined,
): Promise<Sender> {
  const env = process.env;
  if (values.via === 'rest') {
    if (!key) throw new Error('PUBLISH_ACCESS_KEY (or --connection-string) is needed for --via rest');
    return restSender(endpoint ?? values.url, key);
  }
  if (values.via === 'kafka') {
    const brokers = (values.brokers ?? env.KAFKA_BROKERS ?? '').split(',').filter(Boolean);
    if (brokers.length === 0) throw new Error('KAFKA_BROKERS (or --brokers) is needed for --via kafka');
    const { PUBLISH_KAFKA_TOPIC: topic } = parseVariables(
      { PUBLISH_KAFKA_TOPIC: GATEWAY_VARIABLES.PUBLISH_KAFKA_TOPIC },
      env,
    );
    return kafkaSender(brokers, topic);
  }
  throw new Error('--via must be rest or kafka');
}

/** Publishes the toy blotter's fills until `count` are sent (0: until interrupted). */
async function runBlotter(sender: Sender, users: string[], intervalMs: number, count: number): Promise<void> {
  const blotter = new OrderBlotter(
    users,
    createUniverse(20).map((info) => info.symbol),
  );
  for (let sent = 0; count === 0 || sent < count; sent++) {
    const message = blotter.next();
    process.stdout.write(
      `${JSON.stringify(message.arguments[0])} → ${message.to.kind === 'user' ? message.to.id : ''}: ${await sender.send(message)}\n`,
    );
    if (count === 0 || sent + 1 < count) await new Promise((r) => setTimeout(r, intervalMs));
  }
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      all: { type: 'boolean' },
      user: { type: 'string' },
      group: { type: 'string' },
      connection: { type: 'string' },
      excluded: { type: 'string', multiple: true },
      hub: { type: 'string', default: 'chathub' },
      target: { type: 'string', default: 'ReceiveMessage' },
      args: { type: 'string', default: '[]' },
      via: { type: 'string', default: 'rest' },
      url: { type: 'string', default: 'http://127.0.0.1:8080' },
      'connection-string': { type: 'string' },
      brokers: { type: 'string' },
      token: { type: 'string' },
      blotter: { type: 'string' },
      'interval-ms': { type: 'string', default: '2000' },
      count: { type: 'string', default: '0' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const env = process.env;
  const fromString = values['connection-string'] ? connectionString(values['connection-string']) : undefined;
  const key = fromString?.key ?? env.PUBLISH_ACCESS_KEY;
  if (values.token) {
    if (!key) throw new Error('PUBLISH_ACCESS_KEY (or --connection-string) is needed to sign');
    process.stdout.write(`${signPublishToken(values.token, key, TOKEN_TTL_S)}\n`);
    return;
  }
  const message = parseHubMessage({
    hub: values.hub,
    to: recipients(values),
    target: values.target,
    arguments: JSON.parse(values.args),
    ...(values.excluded ? { excluded: values.excluded } : {}),
  });
  const sender = await openSender(values, key, fromString?.endpoint);
  try {
    if (values.blotter) {
      const users = values.blotter.split(',').filter(Boolean);
      await runBlotter(sender, users, Number(values['interval-ms']), Number(values.count));
    } else {
      process.stdout.write(`${await sender.send(message)}\n`);
    }
  } finally {
    await sender.close();
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`publish: ${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
  process.exitCode = 1;
});
