import { oneOf } from '@tickhub/config';
import { LOG_FORMATS } from './format';
import { LOG_LEVELS } from './logger';

/**
 * The variables of logging, the same in every app that logs through this package: spread into the
 * app's own table of variables, so that they are validated, in `--help` and in its docs.
 */
export const LOG_VARIABLES = {
  LOG_LEVEL: oneOf(LOG_LEVELS, { doc: 'least severe level of the lines written', default: 'info' }),
  LOG_FORMAT: oneOf(LOG_FORMATS, {
    doc: '`json`: one JSON object per line; `pretty`: readable lines; unset: readable on a terminal, JSON otherwise (a container, a pipe)',
  }),
};
