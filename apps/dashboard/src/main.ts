import { Dashboard } from './dashboard';
import { findDom } from './dom';
import { resolveEndpoints } from './endpoints';
import { bindKeyboard } from './keyboard';
import { mountMyEvents } from './my-events';
import { type ChartMode, loadSettings } from './settings';

function storage(): Storage | undefined {
  try {
    return window.localStorage;
  } catch {
    return undefined;
  }
}

const dom = findDom();
const store = storage();
const { settings, firstVisit } = loadSettings(store);
const endpoints = resolveEndpoints(window.location);
const dashboard = new Dashboard(dom, endpoints, settings, firstVisit, store);

for (const b of dom.rateButtons) b.addEventListener('click', () => dashboard.setMaxHz(Number(b.dataset.hz)));
for (const b of dom.modeButtons)
  b.addEventListener('click', () => dashboard.setChartMode(b.dataset.mode as ChartMode));
for (const b of dom.barButtons)
  b.addEventListener('click', () => dashboard.setBarSeconds(Number(b.dataset.seconds)));
dom.helpButton.addEventListener('click', () => {
  dom.help.hidden = !dom.help.hidden;
});
dom.help.addEventListener('click', (e) => {
  if (e.target === dom.help) dom.help.hidden = true;
});
bindKeyboard(dashboard, dom.help);
dashboard.start();
void mountMyEvents(endpoints);
