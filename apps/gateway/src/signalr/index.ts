export { gatewayHubsModule } from './gateway-hubs.module';
export * from './hub';
export { ChatHub } from './hubs/chat.hub';
export { MARKET_FEED, type MarketFeed, MarketHub } from './hubs/market.hub';
export {
  SIGNALR_RUNTIME_OPTIONS,
  type SignalRHubDefinition,
  SignalRHubs,
  SignalRModule,
  type SignalRModuleOptions,
  type SignalRRuntimeOptions,
  type UpgradeRouterLike,
} from './nest/signalr.module';
export * from './protocol';
export * from './transports';
