import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { createLogger } from '@tickhub/log';
import { AccessControl } from '../../src/auth/access-control';
import type { UpgradeContext } from '../../src/auth/upgrade-context';
import { loadConfig } from '../../src/config';

/** A request whose socket can be closed by the test: the guard counts it until `close`. */
function requestFrom(ip: string): { req: IncomingMessage; close: () => void } {
  const socket = Object.assign(new EventEmitter(), { remoteAddress: ip, destroyed: false });
  return { req: { socket } as unknown as IncomingMessage, close: () => socket.emit('close') };
}

function accessControl(maxPerIp: string): AccessControl {
  return new AccessControl(
    loadConfig({ MAX_CONNECTIONS_PER_IP: maxPerIp }),
    createLogger({ app: 'gateway', level: 'error' }),
  );
}

describe('AccessControl cluster counts', () => {
  it('adds the other pods of the last cluster view to the exact local count', async () => {
    const ac = accessControl('3');
    const ctx = {} as UpgradeContext;
    expect(await ac.guard(requestFrom('10.0.0.1').req, ctx)).toBeUndefined();
    const reported = ac.presenceCounters();
    expect(reported).toEqual({ 'ip:10.0.0.1': 1 });
    // This pod's 1 plus 2 on other pods.
    ac.applyClusterCounters({ 'ip:10.0.0.1': 3 });
    expect(ac.clusterConnectionsOf('ip', '10.0.0.1')).toBe(3);
    expect(await ac.guard(requestFrom('10.0.0.1').req, ctx)).toEqual({
      status: 429,
      reason: 'too many connections from this address',
    });
    expect(await ac.guard(requestFrom('10.0.0.2').req, ctx)).toBeUndefined();
  });

  it('never counts less than the local exact count, even with a stale view', async () => {
    const ac = accessControl('0');
    const first = requestFrom('10.0.0.1');
    await ac.guard(first.req, {} as UpgradeContext);
    await ac.guard(requestFrom('10.0.0.1').req, {} as UpgradeContext);
    ac.presenceCounters();
    ac.applyClusterCounters({});
    expect(ac.clusterConnectionsOf('ip', '10.0.0.1')).toBe(2);
    first.close();
    expect(ac.connectionsOf('ip', '10.0.0.1')).toBe(1);
  });

  it('reports at most maxKeys counters, the largest first, and no zero counts', async () => {
    const ac = accessControl('0');
    const closers: Array<() => void> = [];
    for (const [ip, n] of [
      ['10.0.0.1', 1],
      ['10.0.0.2', 3],
      ['10.0.0.3', 2],
    ] as const) {
      for (let i = 0; i < n; i++) {
        const r = requestFrom(ip);
        closers.push(r.close);
        await ac.guard(r.req, {} as UpgradeContext);
      }
    }
    expect(ac.presenceCounters(2)).toEqual({ 'ip:10.0.0.2': 3, 'ip:10.0.0.3': 2 });
    for (const close of closers) close();
    expect(ac.presenceCounters()).toEqual({});
  });
});

describe('AccessControl for the SignalR HTTP transports', () => {
  it('admits a negotiate below the caps without counting it, and counts SSE / long polling until released', async () => {
    const ac = accessControl('1');
    const { req } = requestFrom('10.0.0.9');
    expect(await ac.admitNegotiate(req)).toEqual({ principal: {} });
    expect(ac.connectionsOf('ip', '10.0.0.9')).toBe(0);
    const held = ac.holdConnection(req, {});
    if (!('release' in held)) throw new Error('the first connection was refused');
    expect(ac.connectionsOf('ip', '10.0.0.9')).toBe(1);
    const refusal = { status: 429, reason: 'too many connections from this address' };
    expect(await ac.admitNegotiate(req)).toEqual({ refusal });
    expect(ac.holdConnection(req, {})).toEqual({ refusal });
    expect(ac.negotiateRejectionsByStatus).toEqual({ '429': 1 });
    expect(ac.refusals.ip_connections).toBe(2);
    held.release();
    // A second release must not uncount another connection of the address.
    held.release();
    expect(ac.connectionsOf('ip', '10.0.0.9')).toBe(0);
    expect(await ac.admitNegotiate(req)).toEqual({ principal: {} });
  });

  it('offers no SignalR limits when authentication and every limit are off', () => {
    expect(accessControl('0').signalRLimits()).toEqual({});
    expect(Object.keys(accessControl('2').signalRLimits()).sort()).toEqual([
      'admitNegotiate',
      'holdConnection',
    ]);
  });
});
