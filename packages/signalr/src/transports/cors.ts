import type { IncomingMessage, ServerResponse } from 'node:http';
import { drain, sendText } from './http-util';

/**
 * CORS for browsers on other origins of the HTTP transports; false when the request was refused
 * (403). With no allowed origins no CORS headers are sent: only same-origin pages can use them.
 */
export function applyCors(
  allowedOrigins: readonly string[],
  req: IncomingMessage,
  res: ServerResponse,
): boolean {
  const origin = req.headers.origin;
  if (origin === undefined || allowedOrigins.length === 0) return true;
  if (!allowedOrigins.includes(origin)) {
    drain(req);
    sendText(res, 403, 'Origin not allowed');
    return false;
  }
  res.setHeader('Access-Control-Allow-Origin', origin);
  res.setHeader('Access-Control-Allow-Credentials', 'true');
  res.setHeader('Vary', 'Origin');
  if (req.method === 'OPTIONS') {
    res.setHeader('Access-Control-Allow-Methods', 'GET, POST, DELETE, OPTIONS');
    const requested = req.headers['access-control-request-headers'];
    if (typeof requested === 'string') res.setHeader('Access-Control-Allow-Headers', requested);
    res.setHeader('Access-Control-Max-Age', '600');
  }
  return true;
}
