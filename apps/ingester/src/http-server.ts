import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '@tickhub/log';
import type { Registry } from 'prom-client';
import { errorText } from './error-text';

export interface DependencyHealth {
  up: boolean;
  /** Epoch ms of the last change. */
  since: number;
  reason?: string;
}

export interface HealthSource {
  readonly ready: boolean;
  /** Per dependency (Kafka): what readiness rests on, so a 503 says which one and since when. */
  dependencies(): Record<string, DependencyHealth>;
}

/**
 * Liveness, readiness and Prometheus metrics on their own small port, separate from any traffic port:
 * GET /health/live, /health/ready (503 while the producer is not connected, with the reason), /metrics.
 */
export class OpsHttpServer {
  private server: Server | undefined;

  constructor(
    private readonly registry: Registry,
    private readonly health: HealthSource,
    private readonly log: Logger,
  ) {}

  async listen(port: number, host: string): Promise<number> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((err) => {
        this.log.warn('ops request failed', { url: req.url, error: errorText(err) });
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('internal error\n');
      });
    });
    server.keepAliveTimeout = 5000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.log.error('ops http server error', { error: errorText(err) }));
    this.server = server;
    return (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    switch (path) {
      case '/health/live':
        json(res, 200, { status: 'ok' });
        return;
      case '/health/ready': {
        const ready = this.health.ready;
        const dependencies: Record<string, { up: boolean; since: string; reason?: string }> = {};
        for (const [name, d] of Object.entries(this.health.dependencies())) {
          dependencies[name] = { ...d, since: new Date(d.since).toISOString() };
        }
        json(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', dependencies });
        return;
      }
      case '/metrics': {
        const body = await this.registry.metrics();
        res.writeHead(200, { 'content-type': this.registry.contentType }).end(body);
        return;
      }
      default:
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}
