export * from './hub';
export { type InboundLimit, InboundLimiter, type InboundVerdict } from './limits/inbound-limiter';
export { TokenBucket } from './limits/token-bucket';
export {
  hubContextToken,
  InjectHubContext,
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
