import { Controller, Get, HttpStatus, Query, Req, Res } from '@nestjs/common';
import { type Candle, MAX_SYMBOL_LENGTH, readHistoryParams, type Timeframe } from '@tickhub/protocol';
import type { Request, Response } from 'express';
import { AccessControl } from '../auth/access-control';
import { requestEntitledTo } from '../candles/candle-history';
import { GatewayRuntime } from '../runtime';

type CandlesBody = { symbol: string; tf: Timeframe; candles: Candle[] } | { error: string; message?: string };

@Controller('api')
export class CandlesController {
  constructor(
    private readonly runtime: GatewayRuntime,
    // The gateway's one AccessControl: the same entitlement decision as every other entry point.
    private readonly access: AccessControl,
  ) {}

  /**
   * `GET /api/candles?symbol=AAPL&tf=1m&limit=300` (docs/protocol.md → Candle history). The symbol is
   * entitled as `/api/symbols` lists it (ENTITLED_SYMBOLS, or the token's `symbols` with authentication
   * on, where a request without a valid token gets 401).
   */
  @Get('candles')
  async candles(
    @Query('symbol') symbol: unknown,
    @Query('tf') tf: unknown,
    @Query('limit') limit: unknown,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<CandlesBody> {
    res.setHeader('Cache-Control', 'no-store');
    if (typeof symbol !== 'string' || symbol.length === 0 || symbol.length > MAX_SYMBOL_LENGTH) {
      res.status(HttpStatus.BAD_REQUEST);
      return {
        error: 'BAD_REQUEST',
        message: `"symbol" must be a symbol name of 1 to ${MAX_SYMBOL_LENGTH} characters`,
      };
    }
    const params = readHistoryParams(tf, limit);
    if (!params.ok) {
      res.status(HttpStatus.BAD_REQUEST);
      return { error: 'BAD_REQUEST', message: params.message };
    }
    const info = this.runtime.symbolIndex.get(symbol);
    let entitled = false;
    if (info) {
      const allowed = await requestEntitledTo(this.access, req, info);
      if (allowed === null) {
        res.status(HttpStatus.UNAUTHORIZED);
        return { error: 'Unauthorized' };
      }
      entitled = allowed;
    }
    const result = await this.runtime.history.read(symbol, params.tf, params.limit, entitled);
    if (result.ok) return { symbol, tf: params.tf, candles: result.candles };
    res.status(
      result.code === 'UNKNOWN_SYMBOL'
        ? HttpStatus.NOT_FOUND
        : result.code === 'FORBIDDEN'
          ? HttpStatus.FORBIDDEN
          : HttpStatus.SERVICE_UNAVAILABLE,
    );
    return { error: result.code };
  }
}
