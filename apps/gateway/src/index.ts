export type { Logger } from '@tickhub/log';
export { AppModule } from './app.module';
export { type GatewayConfig, loadConfig } from './config';
export * from './core';
export { createGateway, type Gateway, startGateway } from './main';
export { createBackplane, GatewayRuntime } from './runtime';
export { GATEWAY_CONFIG, GATEWAY_LOGGER } from './tokens';
export { type UpgradeContext, type UpgradeGuard, UpgradeRouter, upgradeContextOf } from './ws/upgrade-router';
export { WsConnections } from './ws/ws-connections';
