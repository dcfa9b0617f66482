export * from './hub';
export { DEFAULT_HUB_OPTIONS, HubEndpoint, type HubOptions } from './hub-endpoint';
export { type HubBackplane, HubLifetimeManager } from './lifetime-manager';
