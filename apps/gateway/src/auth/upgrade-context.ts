import type { IncomingMessage } from 'node:http';
import type { Entitlements } from '../core/entitlements';

// The vocabulary of an upgrade decision, shared by the UpgradeRouter that runs it and the access
// control that takes part in it; neither depends on the other.

/** What the upgrade decision learned about a connection, for the transport that serves it. */
export interface UpgradeContext {
  path: string;
  origin: string | undefined;
  /** Set by an upgrade guard (e.g. from JWT claims). */
  entitlements?: Entitlements;
  /** Set by an upgrade guard: the authenticated user, if any. */
  user?: string;
  /** Set by an upgrade guard: when the connection's token expires (ms since the epoch); closed with 4001 then. */
  expiresAt?: number;
}

/** A refused upgrade: the HTTP status, and a reason that names the rule (never a token). */
export interface UpgradeRefusal {
  status: number;
  reason: string;
}

/**
 * Decides on an upgrade before the WebSocket exists. Return undefined to let it through (possibly after
 * filling in `context`), or a refusal answered with that HTTP status (e.g. 401 for a bad token). A guard
 * may answer asynchronously (verifying a token against a JWKS fetched over HTTP).
 */
export type UpgradeGuard = (
  req: IncomingMessage,
  context: UpgradeContext,
) => UpgradeRefusal | undefined | Promise<UpgradeRefusal | undefined>;
