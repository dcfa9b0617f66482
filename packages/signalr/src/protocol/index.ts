export * from './framing';
export * from './handshake';
export { decodeJsonMessage, jsonHubProtocol } from './json-hub-protocol';
export { decodeMessagePackMessage, messagePackHubProtocol } from './messagepack-hub-protocol';
export * from './messages';
