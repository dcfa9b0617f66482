export { CloseCounts, wsErrorCloseCode } from './close-codes';
export * from './connection';
export { isWebSocketUpgrade, serveAsHttp } from './http-upgrade';
export { SignalRServer, TOKEN_EXPIRED_ERROR } from './signalr-server';
export {
  type Authenticate,
  DEFAULT_TRANSPORT_OPTIONS,
  type SignalREndpoint,
  type SignalRTransportOptions,
  type TransportRefusal,
} from './transport-options';
