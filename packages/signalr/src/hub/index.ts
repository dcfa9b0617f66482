export * from './argument-binding';
export * from './hub';
export { HubChannel } from './hub-channel';
export { createGroupManager, createHubClients } from './hub-clients';
export { HubEndpoint } from './hub-endpoint';
export { DEFAULT_HUB_OPTIONS, type HubOptions } from './hub-options';
export { type HubBackplane, HubLifetimeManager } from './lifetime-manager';
