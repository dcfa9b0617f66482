# syntax=docker/dockerfile:1
# tickhub gateway image. Build from the repository root:
#   docker build -f docker/gateway.Dockerfile -t tickhub/gateway .
# Stages: build (all dependencies, turbo build of the gateway, its packages and the dashboard) →
# deps (production dependencies of the gateway workspace only) → runtime (node:20-slim, user node).
ARG NODE_IMAGE=node:20-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json turbo.json tsconfig.base.json biome.json jest.preset.js ./
# Every workspace's manifest: npm ci checks the whole lock file against them.
COPY packages/protocol/package.json packages/protocol/
COPY packages/config/package.json packages/config/
COPY packages/market-sim/package.json packages/market-sim/
COPY packages/backplane/package.json packages/backplane/
COPY packages/backplane-redis/package.json packages/backplane-redis/
COPY packages/log/package.json packages/log/
COPY packages/client/package.json packages/client/
COPY packages/candles/package.json packages/candles/
COPY packages/candles-redis/package.json packages/candles-redis/
COPY packages/signalr/package.json packages/signalr/
COPY packages/testkit/package.json packages/testkit/
COPY apps/gateway/package.json apps/gateway/
COPY apps/ingester/package.json apps/ingester/
COPY apps/dashboard/package.json apps/dashboard/
COPY test/package.json test/
# No install scripts: the native parts used here (msgpackr-extract, the bundler, turbo) ship as
# prebuilt optional packages.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY packages packages
COPY apps/gateway apps/gateway
COPY apps/dashboard apps/dashboard
RUN npx turbo run build --filter=@tickhub/gateway... --filter=@tickhub/dashboard... --output-logs=errors-only

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/protocol/package.json packages/protocol/
COPY packages/config/package.json packages/config/
COPY packages/market-sim/package.json packages/market-sim/
COPY packages/backplane/package.json packages/backplane/
COPY packages/backplane-redis/package.json packages/backplane-redis/
COPY packages/log/package.json packages/log/
COPY packages/client/package.json packages/client/
COPY packages/candles/package.json packages/candles/
COPY packages/candles-redis/package.json packages/candles-redis/
COPY packages/signalr/package.json packages/signalr/
COPY packages/testkit/package.json packages/testkit/
COPY apps/gateway/package.json apps/gateway/
COPY apps/ingester/package.json apps/ingester/
COPY apps/dashboard/package.json apps/dashboard/
COPY test/package.json test/
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund --workspace apps/gateway \
  && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    PORT=8080 \
    DASHBOARD_DIR=/app/apps/dashboard/dist \
    DRAIN_GRACE_MS=10000
WORKDIR /app
COPY --from=deps --chown=node:node /app/node_modules node_modules
COPY --from=deps --chown=node:node /app/package.json package.json
COPY --from=build --chown=node:node /src/packages/protocol/package.json packages/protocol/
COPY --from=build --chown=node:node /src/packages/protocol/dist packages/protocol/dist
COPY --from=build --chown=node:node /src/packages/config/package.json packages/config/
COPY --from=build --chown=node:node /src/packages/config/dist packages/config/dist
COPY --from=build --chown=node:node /src/packages/market-sim/package.json packages/market-sim/
COPY --from=build --chown=node:node /src/packages/market-sim/dist packages/market-sim/dist
COPY --from=build --chown=node:node /src/packages/backplane/package.json packages/backplane/
COPY --from=build --chown=node:node /src/packages/backplane/dist packages/backplane/dist
COPY --from=build --chown=node:node /src/packages/backplane-redis/package.json packages/backplane-redis/
COPY --from=build --chown=node:node /src/packages/backplane-redis/dist packages/backplane-redis/dist
COPY --from=build --chown=node:node /src/packages/log/package.json packages/log/
COPY --from=build --chown=node:node /src/packages/log/dist packages/log/dist
COPY --from=build --chown=node:node /src/packages/candles/package.json packages/candles/
COPY --from=build --chown=node:node /src/packages/candles/dist packages/candles/dist
COPY --from=build --chown=node:node /src/packages/candles-redis/package.json packages/candles-redis/
COPY --from=build --chown=node:node /src/packages/candles-redis/dist packages/candles-redis/dist
COPY --from=build --chown=node:node /src/packages/signalr/package.json packages/signalr/
COPY --from=build --chown=node:node /src/packages/signalr/dist packages/signalr/dist
COPY --from=build --chown=node:node /src/apps/gateway/package.json apps/gateway/
COPY --from=build --chown=node:node /src/apps/gateway/dist apps/gateway/dist
COPY --from=build --chown=node:node /src/apps/dashboard/dist apps/dashboard/dist
USER node
EXPOSE 8080
# Readiness, not liveness: compose orders start-up on it, and a draining or disconnected pod reports
# unhealthy. The image has no curl; Node's fetch does the probe. PORT must be a fixed port here.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/health/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Node runs as PID 1 and handles SIGTERM itself (drain: 503 on readiness, close 1001, leave the
# consumer group, exit 0 within DRAIN_GRACE_MS); the process starts no children to reap.
STOPSIGNAL SIGTERM
CMD ["node", "apps/gateway/dist/main.js"]
