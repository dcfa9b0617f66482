import { formatMs, formatRate } from './format';

/** The connection as the user sees it. */
export type LinkState = 'connecting' | 'connected' | 'reconnecting' | 'offline';

const LABELS: Record<LinkState, string> = {
  connecting: 'Connecting',
  connected: 'Connected',
  reconnecting: 'Reconnecting',
  offline: 'Offline',
};

export interface StatusElements {
  root: HTMLElement;
  label: HTMLElement;
  rtt: HTMLElement;
  rate: HTMLElement;
  server: HTMLElement;
  banner: HTMLElement;
  bannerText: HTMLElement;
}

/**
 * Connection state, round-trip time and updates per second in the top bar, and the banner shown
 * while the gateway cannot be reached. The banner overlays the content (no layout shift) and
 * counts how long prices have been stale.
 */
export class StatusView {
  private state: LinkState | null = null;
  private offlineSince = 0;

  constructor(private readonly el: StatusElements) {}

  setState(state: LinkState, now = Date.now()): void {
    if (state === this.state) return;
    this.state = state;
    this.el.root.dataset.state = state;
    this.el.label.textContent = LABELS[state];
    document.body.classList.toggle('stale', state === 'offline' || state === 'reconnecting');
    if (state === 'offline') {
      if (this.offlineSince === 0) this.offlineSince = now;
      this.el.banner.hidden = false;
      this.renderBanner(now);
    } else if (state === 'connected') {
      this.offlineSince = 0;
      this.el.banner.hidden = true;
    }
    if (state !== 'connected') {
      this.el.rtt.textContent = formatMs(undefined);
      this.el.rate.textContent = formatRate(0);
    }
  }

  get current(): LinkState | null {
    return this.state;
  }

  setMetrics(rttMs: number | undefined, updatesPerSec: number, server: string | undefined): void {
    if (this.state !== 'connected') return;
    this.el.rtt.textContent = formatMs(rttMs);
    this.el.rate.textContent = formatRate(updatesPerSec);
    if (server !== undefined && this.el.server.textContent !== server) this.el.server.textContent = server;
  }

  /** Refreshes the stale-for counter; called once a second. */
  tick(now = Date.now()): void {
    if (this.state === 'offline') this.renderBanner(now);
  }

  private renderBanner(now: number): void {
    const seconds = Math.max(0, Math.round((now - this.offlineSince) / 1000));
    const since = new Date(this.offlineSince).toLocaleTimeString(undefined, { hour12: false });
    this.el.bannerText.textContent = `Gateway unreachable since ${since} (${seconds} s) — prices are stale. Reconnecting…`;
  }
}
