import type { SignalRConnection } from './connection';

/**
 * Negotiated connections whose transport has not started yet, counted per address and per user. A
 * negotiate costs the client one request and the server a connection slot until it expires, so
 * without a cap one client could fill the server's connection limit with connections it never
 * uses; with it, a flood only spends the flooder's own share.
 */
export class PendingNegotiations {
  private readonly owners = new Map<SignalRConnection, { address: string; user: string | undefined }>();
  private readonly byAddress = new Map<string, number>();
  private readonly byUser = new Map<string, number>();

  constructor(
    private readonly maxPerAddress: number,
    private readonly maxPerUser: number,
  ) {}

  /** Which cap a new negotiation of this address (and user, once known) would exceed, if any. */
  exceeded(address: string, user?: string): 'address' | 'user' | undefined {
    if (this.maxPerAddress > 0 && (this.byAddress.get(address) ?? 0) >= this.maxPerAddress) return 'address';
    if (user !== undefined && this.maxPerUser > 0 && (this.byUser.get(user) ?? 0) >= this.maxPerUser) {
      return 'user';
    }
    return undefined;
  }

  add(connection: SignalRConnection, address: string, user: string | undefined): void {
    this.owners.set(connection, { address, user });
    bump(this.byAddress, address, 1);
    if (user !== undefined) bump(this.byUser, user, 1);
  }

  /** The connection started its transport or ended: it no longer counts. Idempotent. */
  settle(connection: SignalRConnection): void {
    const owner = this.owners.get(connection);
    if (!owner) return;
    this.owners.delete(connection);
    bump(this.byAddress, owner.address, -1);
    if (owner.user !== undefined) bump(this.byUser, owner.user, -1);
  }

  get size(): number {
    return this.owners.size;
  }
}

function bump(map: Map<string, number>, key: string, delta: number): void {
  const n = (map.get(key) ?? 0) + delta;
  if (n <= 0) map.delete(key);
  else map.set(key, n);
}
