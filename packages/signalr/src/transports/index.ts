export * from './connection';
export { isWebSocketUpgrade, serveAsHttp } from './http-upgrade';
export {
  type Authenticate,
  DEFAULT_TRANSPORT_OPTIONS,
  type SignalREndpoint,
  SignalRServer,
  type SignalRTransportOptions,
} from './signalr-server';
