export { freePort } from './free-port';
export { type GatewayExit, GatewayProcess, type GatewayStartOptions, startGateway } from './gateway-process';
export { type IngesterExit, IngesterProcess, type LogLine } from './ingester-process';
