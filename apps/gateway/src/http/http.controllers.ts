import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Controller, Get, Header, HttpStatus, Inject, Req, Res } from '@nestjs/common';
import type { SymbolInfo } from '@tickhub/protocol';
import type { Request, Response } from 'express';
import { AccessControl } from '../auth/access-control';
import { GatewayRuntime } from '../runtime';
import { DASHBOARD_DIR } from '../tokens';
import { MetricsService } from './metrics.service';

@Controller('api')
export class SymbolsController {
  constructor(
    private readonly runtime: GatewayRuntime,
    // The gateway's one AccessControl, so refusals count with the upgrades'.
    private readonly access: AccessControl,
  ) {}

  /**
   * The symbols the request is entitled to (ENTITLED_SYMBOLS narrowed by its token); with
   * authentication on, 401 without a valid token (Authorization: Bearer or `?token=`). A failure while checking the token is answered
   * 500, never with the unfiltered list.
   */
  @Get('symbols')
  async symbols(
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<readonly SymbolInfo[] | { error: string }> {
    const symbols = await this.access.symbolsFor(req, this.runtime.symbols);
    if (symbols === null) {
      res.status(HttpStatus.UNAUTHORIZED);
      return { error: 'Unauthorized' };
    }
    return symbols;
  }
}

@Controller('health')
export class HealthController {
  constructor(private readonly runtime: GatewayRuntime) {}

  @Get('live')
  live(): { status: string } {
    return { status: 'ok' };
  }

  @Get('ready')
  ready(@Res() res: Response): void {
    const rt = this.runtime;
    const ready = rt.isReady();
    const dependencies: Record<string, { up: boolean; since: string; reason?: string }> = {};
    const statuses = rt.dependencies.evaluate();
    for (const d of statuses) {
      dependencies[d.name] = {
        up: d.up,
        since: new Date(d.since).toISOString(),
        ...(d.reason !== undefined ? { reason: d.reason } : {}),
      };
    }
    const [source, backplane] = statuses;
    const body = {
      status: ready ? 'ready' : 'not ready',
      draining: rt.isDraining(),
      dependencies,
      tickSource: { kind: rt.tickSource.kind, connected: source!.up },
      backplane: {
        kind: rt.mode.backplane,
        ready: backplane!.up,
        state: rt.backplaneState(),
        // Redis Cluster: masters out of reach; the pod stays ready on the others (RedisBackplane).
        unreachableShards: rt.unreachableShards(),
      },
    };
    res.status(ready ? HttpStatus.OK : HttpStatus.SERVICE_UNAVAILABLE).json(body);
  }
}

@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  @Get()
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  async metricsText(): Promise<string> {
    return this.metrics.text();
  }
}

const FALLBACK_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tickhub gateway</title></head>
<body><h1>tickhub gateway</h1>
<p>The dashboard is not built. Build it with <code>npx turbo run build --filter=@tickhub/dashboard</code>.</p>
<p>Endpoints: <a href="/api/symbols">/api/symbols</a>, <a href="/health/ready">/health/ready</a>,
<a href="/metrics">/metrics</a>, WebSocket <code>/ws</code>.</p></body></html>`;

@Controller()
export class DashboardController {
  constructor(@Inject(DASHBOARD_DIR) private readonly dir: string) {}

  @Get()
  index(@Res() res: Response): void {
    const file = join(this.dir, 'index.html');
    res.type('html');
    if (existsSync(file)) res.send(readFileSync(file));
    else res.send(FALLBACK_PAGE);
  }
}
