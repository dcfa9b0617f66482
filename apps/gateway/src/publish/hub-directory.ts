import type { HubEndpoint } from '@tickhub/signalr';

/**
 * The name a backend gives a hub, as Azure SignalR Service names it: the hub class's name, matched
 * without regard to case (`ChatHub` → `chathub`, `MarketHub` → `markethub`), whatever its path.
 */
export function hubNameOf(endpoint: HubEndpoint): string {
  return endpoint.hub.constructor.name.toLowerCase();
}

/** Finds a hub endpoint by the name that publish requests and hub.messages records use. */
export class HubDirectory {
  private readonly byName = new Map<string, HubEndpoint>();

  constructor(endpoints: readonly HubEndpoint[]) {
    for (const endpoint of endpoints) {
      const name = hubNameOf(endpoint);
      if (this.byName.has(name)) throw new Error(`two hubs are named ${name}`);
      this.byName.set(name, endpoint);
    }
  }

  get(name: string): HubEndpoint | undefined {
    return this.byName.get(name.toLowerCase());
  }

  get names(): string[] {
    return [...this.byName.keys()];
  }

  get endpoints(): HubEndpoint[] {
    return [...this.byName.values()];
  }
}
