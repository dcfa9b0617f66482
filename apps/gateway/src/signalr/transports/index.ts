export * from './connection';
export {
  type Authenticate,
  DEFAULT_TRANSPORT_OPTIONS,
  type SignalREndpoint,
  SignalRServer,
  type SignalRTransportOptions,
} from './signalr-server';
