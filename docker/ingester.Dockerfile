# syntax=docker/dockerfile:1
# tickhub ingester image (simulated market or CSV replay → Kafka). Build from the repository root:
#   docker build -f docker/ingester.Dockerfile -t tickhub/ingester .
# Stages: build (all dependencies, turbo build of the ingester and its packages) → deps (production
# dependencies of the ingester workspace only) → runtime (node:20-slim, user node).
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
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY packages packages
COPY apps/ingester apps/ingester
RUN npx turbo run build --filter=@tickhub/ingester... --output-logs=errors-only

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
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund --workspace apps/ingester \
  && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    INGESTER_HTTP_HOST=0.0.0.0 \
    INGESTER_HTTP_PORT=9464
WORKDIR /app
COPY --from=deps --chown=node:node /app/node_modules node_modules
COPY --from=deps --chown=node:node /app/package.json package.json
COPY --from=build --chown=node:node /src/packages/protocol/package.json packages/protocol/
COPY --from=build --chown=node:node /src/packages/protocol/dist packages/protocol/dist
COPY --from=build --chown=node:node /src/packages/config/package.json packages/config/
COPY --from=build --chown=node:node /src/packages/config/dist packages/config/dist
COPY --from=build --chown=node:node /src/packages/market-sim/package.json packages/market-sim/
COPY --from=build --chown=node:node /src/packages/market-sim/dist packages/market-sim/dist
COPY --from=build --chown=node:node /src/packages/log/package.json packages/log/
COPY --from=build --chown=node:node /src/packages/log/dist packages/log/dist
COPY --from=build --chown=node:node /src/apps/ingester/package.json apps/ingester/
COPY --from=build --chown=node:node /src/apps/ingester/dist apps/ingester/dist
COPY --from=build --chown=node:node /src/apps/ingester/samples apps/ingester/samples
USER node
EXPOSE 9464
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.INGESTER_HTTP_PORT||9464)+'/health/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Node runs as PID 1 and handles SIGTERM itself: stop the source, flush the buffer to Kafka (up to
# SHUTDOWN_TIMEOUT_MS), disconnect, exit. Producer lanes are worker threads, not child processes.
STOPSIGNAL SIGTERM
CMD ["node", "apps/ingester/dist/main.js"]
