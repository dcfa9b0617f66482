export { gatewayHubsModule } from './gateway-hubs.module';
export { ChatHub } from './hubs/chat.hub';
export { MARKET_FEED, type MarketFeed, MarketHub } from './hubs/market.hub';
