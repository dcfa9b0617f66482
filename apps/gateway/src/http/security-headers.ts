import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * The dashboard's Content-Security-Policy. Scripts and styles come from the gateway itself (inline
 * styles are set by the views); the feed may be another gateway (`?gateway=`), so connections may go
 * to any http(s)/ws(s) origin. No page may frame the dashboard (clickjacking of its controls).
 */
export const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  'connect-src ws: wss: http: https:',
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const HEADERS: ReadonlyArray<[string, string]> = [
  ['Content-Security-Policy', DASHBOARD_CSP],
  ['X-Frame-Options', 'DENY'],
  ['X-Content-Type-Options', 'nosniff'],
  // The dashboard's URL may carry `?token=`: it must not leak to other sites in Referer.
  ['Referrer-Policy', 'no-referrer'],
  ['Cross-Origin-Opener-Policy', 'same-origin'],
];

/** Express middleware: the security headers on every HTTP response of the gateway. */
export function securityHeaders(_req: IncomingMessage, res: ServerResponse, next: () => void): void {
  for (const [name, value] of HEADERS) res.setHeader(name, value);
  next();
}
