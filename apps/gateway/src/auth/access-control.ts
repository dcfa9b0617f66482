import type { IncomingMessage } from 'node:http';
import type { Logger } from '@tickhub/log';
import type { SymbolInfo } from '@tickhub/protocol';
import type {
  ConnectionPrincipal,
  HubOptions,
  SignalRConnection,
  SignalRTransportOptions,
} from '@tickhub/signalr';
import type { GatewayConfig } from '../config';
import { type Entitlements, entitledDirectory, entitlementsFor } from '../core/entitlements';
import { AuthError, type AuthPrincipal, JwtVerifier, tokenOf } from './jwt';
import type { UpgradeContext, UpgradeRefusal } from './upgrade-context';

/** The most per-IP / per-user counters one pod reports with its presence. */
export const PRESENCE_COUNTER_KEYS = 1000;

/** Why an upgrade or a request was refused; the keys of `AccessControl.refusals`. */
export type RefusalReason =
  | 'token_missing'
  | 'token_invalid'
  | 'ip_connections'
  | 'user_connections'
  | 'ip_upgrade_rate'
  | 'connection_not_owner'
  | 'ip_pending_negotiations'
  | 'user_pending_negotiations';

/** How long after its negotiate a SignalR connection's WebSocket upgrade is not counted again. */
const NEGOTIATED_CREDIT_MS = 15_000;
/** Negotiated tokens remembered at most (a negotiate flood is already limited by the rate). */
const MAX_NEGOTIATED_CREDITS = 10_000;

/**
 * Authentication and the connection limits of one gateway, shared by `/ws`, the SignalR hubs and
 * `/api/symbols`. Counts are exact for this pod: each admitted upgrade counts against its IP and user
 * until its socket closes, each SignalR SSE / long-polling connection from the start of its transport
 * until it ends.
 */
export class AccessControl {
  readonly verifier: JwtVerifier | undefined;
  readonly refusals: Record<RefusalReason, number> = {
    token_missing: 0,
    token_invalid: 0,
    ip_connections: 0,
    user_connections: 0,
    ip_upgrade_rate: 0,
    connection_not_owner: 0,
    ip_pending_negotiations: 0,
    user_pending_negotiations: 0,
  };
  /** Connections closed when their token expired: `/ws` with 4001, SignalR with a Close message. */
  expiredCloses = 0;
  /** SignalR negotiate requests refused, by HTTP status (the counterpart of refused upgrades). */
  readonly negotiateRejectionsByStatus: Record<string, number> = {};
  /** Connections closed because they sent nothing within HANDSHAKE_TIMEOUT_MS. */
  handshakeTimeouts = 0;
  /** Hub invocations refused by the inbound limit, and hub connections closed for abusing it. */
  readonly hubInboundLimits: Record<'refused' | 'closed', number> = { refused: 0, closed: 0 };
  private readonly byIp = new Map<string, number>();
  private readonly byUser = new Map<string, number>();
  private upgradeWindow = 0;
  private readonly upgradesThisSecond = new Map<string, number>();
  /**
   * SignalR connection tokens negotiated in the last NEGOTIATED_CREDIT_MS, with their address: the
   * negotiate counted against the upgrade rate, so their WebSocket upgrade does not count again.
   */
  private readonly negotiated = new Map<string, { ip: string; until: number }>();
  private readonly lastLog = new Map<string, number>();
  /** Counters of the last cluster view (`ip:<addr>`, `user:<id>`, summed over live pods). */
  private clusterCounters: Record<string, number> = {};
  /** What this pod reported last: its share inside `clusterCounters`. */
  private reportedCounters: Record<string, number> = {};

  constructor(
    private readonly config: GatewayConfig,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.verifier = config.auth.mode === 'off' ? undefined : new JwtVerifier(config.auth);
  }

  get enabled(): boolean {
    return this.verifier !== undefined;
  }

  /** Live connections counted for an IP / a user on this pod. */
  connectionsOf(kind: 'ip' | 'user', key: string): number {
    return (kind === 'ip' ? this.byIp : this.byUser).get(key) ?? 0;
  }

  /**
   * Connections counted for an IP / a user across the cluster: this pod's exact count plus what the
   * other pods reported in the last cluster view. Eventually consistent: the view is as old as the
   * presence refresh, so a burst spread over pods can pass the cap by what arrived within that window.
   */
  clusterConnectionsOf(kind: 'ip' | 'user', key: string): number {
    const local = this.connectionsOf(kind, key);
    const k = `${kind}:${key}`;
    const others = (this.clusterCounters[k] ?? 0) - (this.reportedCounters[k] ?? 0);
    return Math.max(local, local + others);
  }

  /**
   * The counters this pod reports with its presence: its non-zero counts per IP and per user, at most
   * `maxKeys` of them (the largest first), so a flood of distinct addresses cannot bloat the report.
   * Addresses left out are still capped exactly on this pod.
   */
  presenceCounters(maxKeys = PRESENCE_COUNTER_KEYS): Record<string, number> {
    const entries: Array<[string, number]> = [];
    for (const [ip, n] of this.byIp) entries.push([`ip:${ip}`, n]);
    for (const [user, n] of this.byUser) entries.push([`user:${user}`, n]);
    if (entries.length > maxKeys) {
      entries.sort((a, b) => b[1] - a[1]);
      entries.length = maxKeys;
    }
    const counters = Object.fromEntries(entries);
    this.reportedCounters = counters;
    return counters;
  }

  /** Takes the counters of a fresh cluster view (which includes this pod's last report). */
  applyClusterCounters(counters: Record<string, number>): void {
    this.clusterCounters = counters;
  }

  /**
   * The hubs' check of a WebSocket upgrade without a token that names an existing SignalR connection
   * (`SignalRServer.refuseAnonymousUpgrade`): 403, as on the other transports, not the 401 of a
   * missing token. Set once the hubs are mapped.
   */
  refuseAnonymousHubUpgrade: ((req: IncomingMessage) => UpgradeRefusal | undefined) | undefined;

  /**
   * The upgrade guard: an upgrade without a token of someone's SignalR connection is not its owner's
   * (403); then rate and caps per IP, the token, the cap per user.
   */
  readonly guard = async (
    req: IncomingMessage,
    context: UpgradeContext,
  ): Promise<UpgradeRefusal | undefined> => {
    if (this.verifier && tokenOf(req) === undefined) {
      const foreign = this.refuseAnonymousHubUpgrade?.(req);
      if (foreign) return foreign;
    }
    const admission = await this.admit(req);
    if ('refusal' in admission) return admission.refusal;
    const { ip, principal } = admission;
    if (principal) {
      context.user = principal.user;
      if (principal.entitlements) context.entitlements = principal.entitlements;
      if (principal.expiresAt !== undefined) context.expiresAt = principal.expiresAt;
    }
    if (req.socket.destroyed) return undefined;
    req.socket.once('close', this.hold(ip, principal?.user));
    return undefined;
  };

  /**
   * The SignalR transports' `authenticate` option (only when authentication is on), and the count and
   * log of requests refused because they named a connection they do not own.
   */
  signalRAuthentication(): Pick<
    SignalRTransportOptions,
    'authenticate' | 'onForeignRequest' | 'onPendingLimit'
  > {
    return {
      ...(this.verifier ? { authenticate: this.authenticateRequest } : {}),
      onForeignRequest: this.onForeignRequest,
      onPendingLimit: this.onPendingLimit,
    };
  }

  private readonly onPendingLimit = (req: IncomingMessage, cap: 'address' | 'user') => {
    this.negotiateRejectionsByStatus['429'] = (this.negotiateRejectionsByStatus['429'] ?? 0) + 1;
    const reason = cap === 'address' ? 'ip_pending_negotiations' : 'user_pending_negotiations';
    this.refuse(reason, 429, 'too many pending negotiations', { ip: req.socket.remoteAddress ?? 'unknown' });
  };

  /**
   * The inbound limit of hub connections: `/ws`'s rate (MAX_INBOUND_PER_SEC) and abuse settings, with
   * its refusals counted and abuse closes logged.
   */
  hubInboundLimit(): Pick<HubOptions, 'inboundLimit' | 'onInboundLimit'> {
    return {
      inboundLimit: {
        perSec: this.config.limits.maxInboundPerSec,
        maxRejections: this.config.abuseMaxRejections,
        windowMs: this.config.abuseWindowMs,
      },
      onInboundLimit: (event, connectionId) => {
        this.hubInboundLimits[event]++;
        if (event === 'closed') {
          this.logThrottled('hub_rate_limit_abuse', {
            reason: 'hub_rate_limit_abuse',
            connectionId,
            total: this.hubInboundLimits.closed,
          });
        }
      },
    };
  }

  private readonly onForeignRequest = (
    req: IncomingMessage,
    connection: SignalRConnection,
    status: number,
  ) => {
    const ip = req.socket.remoteAddress ?? 'unknown';
    if (status === 401) {
      // An invalid token: counted and logged as any other.
      this.refuse('token_invalid', 401, 'token invalid', { ip, hub: connection.hubPath });
      return;
    }
    this.refuse('connection_not_owner', 403, 'not the owner of this connection', {
      ip,
      hub: connection.hubPath,
      connectionId: connection.connectionId,
      method: req.method,
    });
  };

  /**
   * The options of the SignalR transports that apply what the upgrade guard applies to WebSockets to
   * negotiate and to SSE / long polling, and that end connections at token expiry. Empty when
   * authentication and every limit are off.
   */
  signalRLimits(): Pick<
    SignalRTransportOptions,
    'admitNegotiate' | 'holdConnection' | 'onTokenExpired' | 'onNegotiated'
  > {
    const { maxConnectionsPerIp, maxConnectionsPerUser, maxUpgradesPerIpPerSec } = this.config;
    const limited = maxConnectionsPerIp > 0 || maxConnectionsPerUser > 0 || maxUpgradesPerIpPerSec > 0;
    if (!this.verifier && !limited) return {};
    return {
      admitNegotiate: this.admitNegotiate,
      ...(limited ? { holdConnection: this.holdConnection } : {}),
      ...(maxUpgradesPerIpPerSec > 0 ? { onNegotiated: this.onNegotiated } : {}),
      ...(this.verifier ? { onTokenExpired: this.onSignalRTokenExpired } : {}),
    };
  }

  /**
   * SignalR negotiate, decided as an upgrade (rate and caps per IP, the token, the cap per user) but
   * counting nothing: the connection counts once its transport starts.
   */
  readonly admitNegotiate = async (
    req: IncomingMessage,
  ): Promise<{ principal: ConnectionPrincipal } | { refusal: UpgradeRefusal }> => {
    const admission = await this.admit(req);
    if ('refusal' in admission) {
      const key = String(admission.refusal.status);
      this.negotiateRejectionsByStatus[key] = (this.negotiateRejectionsByStatus[key] ?? 0) + 1;
      return admission;
    }
    return { principal: admission.principal ? connectionPrincipal(admission.principal) : {} };
  };

  /** Remembers a negotiated connection token, so that its WebSocket upgrade passes the rate once. */
  readonly onNegotiated = (req: IncomingMessage, connectionToken: string): void => {
    const now = this.now();
    if (this.negotiated.size >= MAX_NEGOTIATED_CREDITS) {
      for (const [token, credit] of this.negotiated) if (credit.until <= now) this.negotiated.delete(token);
      // Still full: a flood of negotiates; its upgrades simply count again.
      if (this.negotiated.size >= MAX_NEGOTIATED_CREDITS) return;
    }
    this.negotiated.set(connectionToken, {
      ip: req.socket.remoteAddress ?? 'unknown',
      until: now + NEGOTIATED_CREDIT_MS,
    });
  };

  /** True (once) for a WebSocket upgrade of a connection this address negotiated moments ago. */
  private takeNegotiatedCredit(req: IncomingMessage, ip: string): boolean {
    if (this.negotiated.size === 0) return false;
    const url = req.url ?? '';
    const at = url.indexOf('?');
    if (at < 0) return false;
    const token = new URLSearchParams(url.slice(at + 1)).get('id');
    if (token === null) return false;
    const credit = this.negotiated.get(token);
    if (credit === undefined) return false;
    this.negotiated.delete(token);
    return credit.ip === ip && credit.until > this.now();
  }

  /**
   * An SSE or long-polling connection starts: checked against the caps once more (other connections
   * of the address or user may have started since its negotiate), then counted until `release`.
   */
  readonly holdConnection = (
    req: IncomingMessage,
    principal: ConnectionPrincipal,
  ): { release: () => void } | { refusal: UpgradeRefusal } => {
    const ip = req.socket.remoteAddress ?? 'unknown';
    const refusal = this.checkCaps(ip, principal.userId);
    if (refusal) return { refusal };
    return { release: this.hold(ip, principal.userId) };
  };

  private readonly onSignalRTokenExpired = (connection: SignalRConnection): void => {
    this.expiredCloses++;
    this.logger.info('token expired, closing', {
      reason: 'token_expired',
      protocol: 'signalr',
      hub: connection.hubPath,
      transport: connection.transport ?? 'none',
      connectionId: connection.connectionId,
    });
  };

  /**
   * For the SignalR transports: the principal of a request, null for an invalid token, undefined
   * for none (`Authenticate`).
   */
  readonly authenticateRequest = async (
    req: IncomingMessage,
  ): Promise<ConnectionPrincipal | null | undefined> => {
    if (!this.verifier) return { userId: '', claims: {} };
    const result = await this.authenticate(req, req.socket.remoteAddress ?? 'unknown');
    if ('refusal' in result) return tokenOf(req) === undefined ? undefined : null;
    return connectionPrincipal(result.principal);
  };

  /**
   * What a connection may see and subscribe to: `ENTITLED_SYMBOLS` narrowed by its token's claims
   * (`entitlementsFor`). Every entry point asks here, so that none can widen what another refuses.
   */
  entitlementsFor(token: Entitlements | undefined): Entitlements | undefined {
    return entitlementsFor(this.config.entitledSymbols, token);
  }

  /** What `/api/symbols` shows a request: the entitled symbols of its token (or of none); null = 401. */
  async symbolsFor(req: IncomingMessage, all: readonly SymbolInfo[]): Promise<readonly SymbolInfo[] | null> {
    let token: Entitlements | undefined;
    if (this.verifier) {
      const result = await this.authenticate(req, req.socket.remoteAddress ?? 'unknown');
      if ('refusal' in result) return null;
      token = result.principal.entitlements;
    }
    return entitledDirectory(all, this.entitlementsFor(token));
  }

  /**
   * What every new connection passes, in this order so that a flood is refused before any token is
   * verified: the upgrade rate and the cap of the address, the token, then both caps again (other
   * connections may have been admitted while the token was verified).
   */
  private async admit(
    req: IncomingMessage,
  ): Promise<{ ip: string; principal: AuthPrincipal | undefined } | { refusal: UpgradeRefusal }> {
    const ip = req.socket.remoteAddress ?? 'unknown';
    const limit = this.config.maxUpgradesPerIpPerSec;
    if (limit > 0 && !this.takeNegotiatedCredit(req, ip)) {
      const second = Math.floor(this.now() / 1000);
      if (second !== this.upgradeWindow) {
        this.upgradeWindow = second;
        this.upgradesThisSecond.clear();
      }
      const n = (this.upgradesThisSecond.get(ip) ?? 0) + 1;
      this.upgradesThisSecond.set(ip, n);
      if (n > limit)
        return {
          refusal: this.refuse('ip_upgrade_rate', 429, 'too many upgrades from this address', { ip }),
        };
    }
    const early = this.checkCaps(ip, undefined);
    if (early) return { refusal: early };
    let principal: AuthPrincipal | undefined;
    if (this.verifier) {
      const result = await this.authenticate(req, ip);
      if ('refusal' in result) return result;
      principal = result.principal;
    }
    const refusal = this.checkCaps(ip, principal?.user);
    if (refusal) return { refusal };
    return { ip, principal };
  }

  /** The per-IP and (with a user) per-user caps, against the cluster-wide counts. */
  private checkCaps(ip: string, user: string | undefined): UpgradeRefusal | undefined {
    const ipCap = this.config.maxConnectionsPerIp;
    if (ipCap > 0 && this.clusterConnectionsOf('ip', ip) >= ipCap)
      return this.refuse('ip_connections', 429, 'too many connections from this address', { ip });
    const userCap = this.config.maxConnectionsPerUser;
    if (user !== undefined && userCap > 0 && this.clusterConnectionsOf('user', user) >= userCap)
      return this.refuse('user_connections', 429, 'too many connections for this user', { ip, user });
    return undefined;
  }

  /** Counts a connection against its IP and user; the returned release (idempotent) uncounts it. */
  private hold(ip: string, user: string | undefined): () => void {
    this.count(this.byIp, ip, 1);
    if (user !== undefined) this.count(this.byUser, user, 1);
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.count(this.byIp, ip, -1);
      if (user !== undefined) this.count(this.byUser, user, -1);
    };
  }

  private async authenticate(
    req: IncomingMessage,
    ip: string,
  ): Promise<{ principal: AuthPrincipal } | { refusal: UpgradeRefusal }> {
    const token = tokenOf(req);
    if (token === undefined) return { refusal: this.refuse('token_missing', 401, 'token missing', { ip }) };
    try {
      return { principal: await (this.verifier as JwtVerifier).verify(token) };
    } catch (error) {
      const detail = error instanceof AuthError ? error.reason : 'token invalid';
      return { refusal: this.refuse('token_invalid', 401, 'token invalid', { ip, detail }) };
    }
  }

  private refuse(
    reason: RefusalReason,
    status: number,
    text: string,
    fields: Record<string, unknown>,
  ): UpgradeRefusal {
    this.refusals[reason]++;
    this.logThrottled(reason, { reason, status, ...fields });
    return { status, reason: text };
  }

  /** One log line per reason and second at most, with how many were left out: a flood cannot flood the log. */
  private logThrottled(reason: string, fields: Record<string, unknown>): void {
    const now = this.now();
    const last = this.lastLog.get(reason) ?? 0;
    if (now - last < 1000) return;
    this.lastLog.set(reason, now);
    const total = this.refusals[reason as RefusalReason];
    this.logger.warn('access refused', {
      ...fields,
      ...(total !== undefined ? { totalOfReason: total } : {}),
    });
  }

  private count(map: Map<string, number>, key: string, delta: number): void {
    const n = (map.get(key) ?? 0) + delta;
    if (n <= 0) map.delete(key);
    else map.set(key, n);
  }
}

/** What the SignalR hubs know of a token: its user, entitlements (as a claim) and expiry. */
function connectionPrincipal(principal: AuthPrincipal): ConnectionPrincipal {
  return {
    userId: principal.user,
    claims: principal.entitlements ? { entitlements: principal.entitlements } : {},
    ...(principal.expiresAt !== undefined ? { expiresAt: principal.expiresAt } : {}),
  };
}
