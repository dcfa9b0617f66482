export { errorFields } from './error-fields';
export { LOG_FORMATS, type LogFormat, logFormat } from './format';
export { LOG_LEVELS, type LogFields, type Logger, type LogLevel } from './logger';
export { NestLogBridge } from './nest-bridge';
export { createLogger, type LoggerOptions } from './pino-logger';
export { LOG_VARIABLES } from './variables';
