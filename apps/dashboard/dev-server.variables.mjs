// The environment variables of the dashboard's Vite dev server (`npm run dev`), read by vite.config.mts.
// The built dashboard has none: it finds its gateway from the page's own origin or `?gateway=`.
import { helpFor, number, parseVariables, urlValue, variable } from '@tickhub/config';

export const DASHBOARD_VARIABLES = {
  DASHBOARD_DEV_PORT: number(
    { min: 1, max: 65535, integer: true },
    { doc: 'port of the Vite dev server', default: 5173 },
  ),
  TICKHUB_GATEWAY_URL: variable({
    doc: 'the gateway the dev server proxies `/api` and `/ws` to (`npm run dev` sets it from `PORT`)',
    accepts: 'http:// or https:// URL',
    default: 'http://localhost:8080',
    value: urlValue(['http', 'https']),
  }),
};

/** The dev server's settings; a bad one stops Vite with its name. */
export function devServerConfig(env = process.env) {
  return parseVariables(DASHBOARD_VARIABLES, env);
}

export const dashboardHelp = helpFor(
  "tickhub dashboard's dev server (npm --workspace apps/dashboard run dev): Vite, proxying to a gateway.",
  DASHBOARD_VARIABLES,
);
