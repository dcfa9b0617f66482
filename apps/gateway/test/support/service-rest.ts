import { signJwt } from './auth';

/**
 * A client of the Azure SignalR Service data-plane REST API, as the Management SDK's REST mode uses
 * it: it reads a connection string `Endpoint=…;AccessKey=…;Version=1.0;`, builds URLs
 * `{Endpoint}/api/v1/hubs/{hub (lower case)}/…` (v1) or `{Endpoint}/api/hubs/{hub}/…/:send` (today's
 * SDK, with `?api-version=`), and signs each request with an HS256 token of the access key's UTF-8
 * bytes whose `aud` is the request URL without its query (`GetLeftPart(UriPartial.Path)`).
 */
export class ServiceRestClient {
  readonly endpoint: string;
  readonly accessKey: string;

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
    this.endpoint = endpoint.replace(/\/+$/, '');
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

  token(audience: string, options: { expIn?: number; key?: string } = {}): string {
    return signJwt(
      {},
      { alg: 'HS256', secret: options.key ?? this.accessKey },
      {
        aud: audience,
        expIn: options.expIn ?? 300,
      },
    );
  }

  /** Sends one request signed for its own URL, as the SDK does. */
  request(
    method: string,
    url: string,
    init: { body?: unknown; query?: string; token?: string | null } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = {};
    const token = init.token === undefined ? this.token(url) : init.token;
    if (token !== null) headers.authorization = `Bearer ${token}`;
    let body: string | undefined;
    if (init.body !== undefined) {
      body = typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
      headers['content-type'] = 'application/json; charset=utf-8';
    }
    return fetch(init.query ? `${url}?${init.query}` : url, {
      method,
      headers,
      ...(body !== undefined ? { body } : {}),
    });
  }

  /** `POST` of an invocation, as `IHubContext.Clients.….SendAsync(target, args…)` sends it. */
  send(url: string, target: string, args: unknown[], query?: string): Promise<Response> {
    return this.request('POST', url, { body: { target, arguments: args }, ...(query ? { query } : {}) });
  }
}
