import { signJwt } from './auth';

/**
 * A client of the Azure SignalR Service data-plane REST API that sends what the Management SDK's REST
 * ("transient") mode sends (the SDK itself is .NET only). From a connection string
 * `Endpoint=…;AccessKey=…;Version=1.0;` (`Port=` too) it builds:
 *
 * - v1 URLs `{Endpoint}/api/v1/hubs/{hub (lower case)}/…`, as SDK 1.0–1.9 did: `aud` is
 *   `{Endpoint as written}/api/v1/hubs/…`, the URL without its query;
 * - today's URLs `{Endpoint}/api/hubs/{hub}/…/:send?api-version=…`: `aud` is
 *   `{scheme}://{host}/api/hubs/…?api-version=…` — without the endpoint's port, with the query
 *   (but not `excluded`), as `ServiceEndpoint.AudienceBaseUrl` and `RestApiProvider` build it.
 *
 * Tokens are HS256 over the access key's UTF-8 bytes, with `kid`, `nbf`, `iat` and `exp`. Sends
 * carry `{"Target":…,"Arguments":[…]}` (the SDK's property names) streamed without Content-Length,
 * as its `PayloadMessageContent` writes them.
 */
export class ServiceRestClient {
  readonly endpoint: string;
  readonly accessKey: string;
  /** The endpoint as a `:port`-less base for v1 audiences when the port came from `Port=`. */
  private readonly v1AudienceBase: string;

  constructor(connectionString: string) {
    const fields = new Map<string, string>();
    for (const part of connectionString.split(';')) {
      const eq = part.indexOf('=');
      if (eq > 0) fields.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
    }
    const endpoint = fields.get('endpoint');
    const accessKey = fields.get('accesskey');
    if (!endpoint || !accessKey) throw new Error('the connection string needs Endpoint and AccessKey');
    if (fields.get('version') !== '1.0') throw new Error('only Version=1.0 is spoken here');
    this.v1AudienceBase = endpoint.replace(/\/+$/, '');
    const url = new URL(endpoint);
    const port = fields.get('port');
    if (port) url.port = port;
    this.endpoint = url.origin;
    this.accessKey = accessKey;
  }

  /** The URL of today's Management SDK (API version 2024-12-01): `{Endpoint}/api/hubs/{hub}/…`. */
  currentUrl(hub: string, ...path: string[]): string {
    const tail = path
      .map((segment) => (segment === ':send' ? '/:send' : `/${encodeURIComponent(segment)}`))
      .join('');
    return `${this.endpoint}/api/hubs/${encodeURIComponent(hub.toLowerCase())}${tail}`;
  }

  url(hub: string, ...path: string[]): string {
    const tail = path.map((segment) => `/${encodeURIComponent(segment)}`).join('');
    return `${this.endpoint}/api/v1/hubs/${encodeURIComponent(hub.toLowerCase())}${tail}`;
  }

  /** The `aud` the SDK signs for a request to `url` with `query`. */
  audience(url: string, query = ''): string {
    const target = new URL(url);
    if (target.pathname.startsWith('/api/v1/')) return `${this.v1AudienceBase}${target.pathname}`;
    const params = new URLSearchParams(query);
    params.delete('excluded');
    const signed = params.toString();
    return `${target.protocol}//${target.hostname}${target.pathname}${signed ? `?${signed}` : ''}`;
  }

  token(audience: string, options: { expIn?: number; key?: string } = {}): string {
    const now = Math.floor(Date.now() / 1000);
    // The SDK's `kid` is the .NET hash of the key string; the service does not read it.
    const key = { alg: 'HS256' as const, secret: options.key ?? this.accessKey, kid: 'access-key' };
    return signJwt({ nbf: now }, key, { aud: audience, expIn: options.expIn ?? 300 });
  }

  /**
   * Sends one request signed for its own URL, as the SDK does. `body` is sent as given (a string, or
   * an object as JSON with a Content-Length); `send` streams the SDK's own body.
   */
  request(
    method: string,
    url: string,
    init: { body?: unknown; query?: string; token?: string | null; stream?: boolean } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = {};
    const token = init.token === undefined ? this.token(this.audience(url, init.query)) : init.token;
    if (token !== null) headers.authorization = `Bearer ${token}`;
    let body: string | ReadableStream<Uint8Array> | undefined;
    if (init.body !== undefined) {
      const text = typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
      headers['content-type'] = 'application/json; charset=utf-8';
      body = init.stream ? streamOf(text) : text;
    }
    return fetch(init.query ? `${url}?${init.query}` : url, {
      method,
      headers,
      ...(body !== undefined ? { body } : {}),
      ...(init.stream ? { duplex: 'half' } : {}),
    } as RequestInit);
  }

  /** `POST` of an invocation, as `IHubContext.Clients.….SendAsync(target, args…)` sends it. */
  send(url: string, target: string, args: unknown[], query?: string): Promise<Response> {
    return this.request('POST', url, {
      body: { Target: target, Arguments: args },
      stream: true,
      ...(query ? { query } : {}),
    });
  }
}

/** A body written in two chunks, so that it goes out chunked, without Content-Length. */
function streamOf(text: string): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  const half = Math.floor(bytes.length / 2);
  return new ReadableStream({
    start(controller) {
      controller.enqueue(bytes.subarray(0, half));
      controller.enqueue(bytes.subarray(half));
      controller.close();
    },
  });
}
