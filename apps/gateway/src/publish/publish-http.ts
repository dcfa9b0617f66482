import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '@tickhub/log';
import type { ConnectionProbe } from './connection-probe';
import { ProbeOverloadError } from './connection-probe';
import type { HubDirectory } from './hub-directory';
import { HubMessageError, parseExcluded, parseSendBody } from './hub-message';
import { changeConnectionGroup, changeUserGroup, publish } from './hub-publisher';
import {
  type ApiDialect,
  PUBLISH_API_PREFIXES,
  PUBLISH_HEALTH_PATHS,
  type PublishRoute,
  routePublish,
} from './publish-routes';
import { type Audience, audienceOf, PublishTokenError, verifyPublishToken } from './publish-token';

export interface PublishHttpOptions {
  /** Signing keys (UTF-8 bytes of PUBLISH_ACCESS_KEY, and of the secondary during a rotation). */
  keys: readonly Buffer[];
  maxBodyBytes: number;
  hubs: HubDirectory;
  probe: ConnectionProbe;
  logger: Logger;
  /** Called with the status of every answered request (metrics). */
  onResponse?: (status: number) => void;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The server publish API over plain node:http (mounted in front of Nest's routes). */
export class PublishHttpHandler {
  private readonly refusalLoggedAt = new Map<string, number>();

  constructor(private readonly options: PublishHttpOptions) {}

  /** Answers a request of the API; false for any other path. */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const raw = req.url ?? '';
    const path = raw.split('?', 1)[0] as string;
    if (PUBLISH_HEALTH_PATHS.has(path) && (req.method === 'GET' || req.method === 'HEAD')) {
      this.end(res, 200);
      return true;
    }
    const api = PUBLISH_API_PREFIXES.find(([prefix]) => path.startsWith(prefix));
    if (!api) return false;
    this.serve(req, res, path, api[0], api[1]).then(
      (status) => this.end(res, status),
      (error: unknown) => {
        if (error instanceof HttpError) {
          this.end(res, error.status, { error: error.code, message: error.message });
          return;
        }
        this.options.logger.warn('publish request failed', { error: String(error) });
        this.end(res, 500, { error: 'INTERNAL', message: 'the message could not be published' });
      },
    );
    return true;
  }

  private async serve(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    prefix: string,
    dialect: ApiDialect,
  ): Promise<number> {
    const method = req.method ?? 'GET';
    const route = routePublish(method, segmentsOf(path, prefix), dialect);
    if ('miss' in route) {
      if (route.miss === 'method') {
        res.setHeader('Allow', route.allow);
        throw new HttpError(405, 'METHOD_NOT_ALLOWED', `${method} is not served here`);
      }
      throw new HttpError(404, 'NOT_FOUND', 'no such API');
    }
    this.authenticate(req, path);
    // Azure SignalR Service names an application's hubs `{application}_{hub}`.
    const application = queryOf(req).get('application');
    const hub = application ? `${application}_${route.hub}` : route.hub;
    const endpoint = this.options.hubs.get(hub);
    if (!endpoint) throw new HttpError(404, 'UNKNOWN_HUB', `no hub is named ${hub}`);
    return this.run({ ...route, hub }, req, endpoint);
  }

  private async run(
    route: PublishRoute,
    req: IncomingMessage,
    endpoint: NonNullable<ReturnType<HubDirectory['get']>>,
  ): Promise<number> {
    switch (route.op) {
      case 'send': {
        const body = readText(await readBody(req, this.options.maxBodyBytes));
        const invocation = badRequestOn(() => parseSendBody(JSON.parse(body)));
        const excluded = badRequestOn(() => parseExcluded(excludedOf(req)));
        await publish(endpoint, route.to, invocation, excluded);
        return 202;
      }
      case 'connection-group':
        await badRequestOnAsync(() =>
          changeConnectionGroup(endpoint, route.change, route.connectionId, route.group),
        );
        return 202;
      case 'user-group':
        badRequestOn(() => changeUserGroup(endpoint, route.change, route.user, route.group));
        return 202;
      case 'connection-exists':
        try {
          return (await this.options.probe.exists(route.hub, route.connectionId)) ? 200 : 404;
        } catch (error) {
          if (error instanceof ProbeOverloadError) throw new HttpError(503, 'BUSY', error.message);
          throw error;
        }
    }
  }

  private authenticate(req: IncomingMessage, path: string): void {
    const header = req.headers.authorization;
    const token = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] : undefined;
    let audience: Audience;
    try {
      audience = audienceOf(new URL(path, `http://${req.headers.host ?? ''}`));
    } catch {
      throw new HttpError(400, 'BAD_REQUEST', 'the Host header is not a valid host');
    }
    try {
      verifyPublishToken(token, this.options.keys, audience, Date.now());
    } catch (error) {
      if (!(error instanceof PublishTokenError)) throw error;
      this.logRefusal(error.message, path);
      throw new HttpError(401, 'UNAUTHORIZED', error.message);
    }
  }

  /** At most one line a second per reason: a flood of bad tokens must not flood the log. */
  private logRefusal(reason: string, path: string): void {
    const now = Date.now();
    if (now - (this.refusalLoggedAt.get(reason) ?? 0) < 1000) return;
    // Reasons are the verifier's fixed messages, so the map stays small.
    this.refusalLoggedAt.set(reason, now);
    this.options.logger.warn('publish request refused', { reason, path });
  }

  private end(res: ServerResponse, status: number, body?: Record<string, string>): void {
    this.options.onResponse?.(status);
    if (res.headersSent) {
      res.end();
      return;
    }
    if (body && res.req.method !== 'HEAD') {
      const text = JSON.stringify(body);
      res.writeHead(status, {
        'Content-Type': 'application/json; charset=utf-8',
        'Content-Length': Buffer.byteLength(text),
      });
      res.end(text);
      return;
    }
    res.writeHead(status, { 'Content-Length': 0 });
    res.end();
  }
}

function segmentsOf(path: string, prefix: string): string[] {
  try {
    return path.slice(prefix.length).replace(/\/+$/, '').split('/').map(decodeURIComponent);
  } catch {
    throw new HttpError(400, 'BAD_REQUEST', 'malformed percent-encoding in the path');
  }
}

function queryOf(req: IncomingMessage): URLSearchParams {
  const url = req.url ?? '';
  const q = url.indexOf('?');
  return new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
}

function excludedOf(req: IncomingMessage): string[] | undefined {
  const ids = queryOf(req).getAll('excluded');
  return ids.length > 0 ? ids : undefined;
}

function badRequestOn<T>(run: () => T): T {
  try {
    return run();
  } catch (error) {
    throw asBadRequest(error);
  }
}

async function badRequestOnAsync<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw asBadRequest(error);
  }
}

/** Refusals of the request itself (bad JSON, bad fields, a connection at its group limit) are 400s. */
function asBadRequest(error: unknown): unknown {
  if (error instanceof HttpError) return error;
  if (error instanceof SyntaxError) return new HttpError(400, 'BAD_REQUEST', 'the body is not valid JSON');
  if (error instanceof HubMessageError || error instanceof TypeError || error instanceof RangeError) {
    return new HttpError(400, 'BAD_REQUEST', error.message);
  }
  return error;
}

function readText(body: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    throw new HttpError(400, 'BAD_REQUEST', 'the body is not valid UTF-8');
  }
}

/**
 * The request body, refused (400) past `limit` bytes. The rest is read and dropped, not kept:
 * closing at once would reset the connection and lose the answer; the server's request timeout
 * bounds how long a sender may go on.
 */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const tooLarge = () => new HttpError(400, 'BAD_REQUEST', `the body is larger than ${limit} bytes`);
  const declared = Number(req.headers['content-length']);
  if (declared > limit) {
    req.resume();
    return Promise.reject(tooLarge());
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        req.resume();
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}
