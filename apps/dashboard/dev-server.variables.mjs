// The environment variables of the dashboard's Vite dev server (`npm run dev`), read by vite.config.mts.
// The built dashboard has none: it finds its gateway from the page's own origin or `?gateway=`.
import { bad, describeVariables, formatHelp, parsed, parseVariables, variable } from '@tickhub/config';

export const DASHBOARD_VARIABLES = {
  DASHBOARD_DEV_PORT: variable({
    doc: 'port of the Vite dev server',
    accepts: 'integer 1–65535',
    default: 5173,
    value: parsed((raw) => {
      const port = Number(raw);
      return Number.isInteger(port) && port >= 1 && port <= 65535
        ? port
        : bad(`must be an integer >= 1 and <= 65535, got ${JSON.stringify(raw)}`);
    }),
  }),
  TICKHUB_GATEWAY_URL: variable({
    doc: 'the gateway the dev server proxies `/api` and `/ws` to (`npm run dev` sets it from `PORT`)',
    accepts: 'http:// or https:// URL',
    default: 'http://localhost:8080',
    value: parsed((raw) => (/^https?:\/\//.test(raw) ? raw : bad('must start with http:// or https://'))),
  }),
};

/** The dev server's settings; a bad one stops Vite with its name. */
export function devServerConfig(env = process.env) {
  return parseVariables(DASHBOARD_VARIABLES, env);
}

export function dashboardHelp(env = process.env) {
  return formatHelp(
    "tickhub dashboard's dev server (npm --workspace apps/dashboard run dev): Vite, proxying to a gateway.",
    describeVariables(DASHBOARD_VARIABLES),
    env,
  );
}
