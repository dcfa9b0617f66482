/** Nest injection tokens of values created before the application (configuration, logger). */
export const GATEWAY_CONFIG = Symbol('GATEWAY_CONFIG');
export const GATEWAY_LOGGER = Symbol('GATEWAY_LOGGER');
export const DASHBOARD_DIR = Symbol('DASHBOARD_DIR');
