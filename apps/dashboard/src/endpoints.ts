/** Where the page finds its gateway: the WebSocket feed and the HTTP API. */
export interface Endpoints {
  wsUrl: string;
  /** Base for HTTP calls such as `${apiBase}/api/symbols`, without a trailing slash. */
  apiBase: string;
  /** JWT from `?token=`, for gateways with authentication on. */
  token?: string;
}

/**
 * The same origin as the page by default (the gateway serves the dashboard, and the dev server
 * proxies `/ws` and `/api`). `?gateway=` points the page elsewhere and takes either form:
 * `?gateway=localhost:8081`, `?gateway=http://host:8081`, or `?gateway=wss://host/ws`.
 */
export function resolveEndpoints(location: { href: string }): Endpoints {
  const page = new URL(location.href);
  const override = page.searchParams.get('gateway')?.trim();
  const base = override ? parseOverride(override, page) : page;
  const secure = base.protocol === 'https:' || base.protocol === 'wss:';
  const httpProtocol = secure ? 'https:' : 'http:';
  const wsProtocol = secure ? 'wss:' : 'ws:';

  // A path given in the override (other than `/`) is taken as the WebSocket path.
  const wsPath = override && base.pathname !== '/' && base.pathname !== '' ? base.pathname : '/ws';
  const endpoints: Endpoints = {
    wsUrl: `${wsProtocol}//${base.host}${wsPath}`,
    apiBase: `${httpProtocol}//${base.host}`,
  };
  const token = page.searchParams.get('token');
  if (token) endpoints.token = token;
  return endpoints;
}

function parseOverride(value: string, page: URL): URL {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `${page.protocol}//${value}`;
  try {
    const url = new URL(withScheme);
    if (['http:', 'https:', 'ws:', 'wss:'].includes(url.protocol)) return url;
  } catch {
    // Not a URL: fall through to the page's own origin.
  }
  return page;
}
