export { formatHelp, formatMarkdownTable } from './format';
export {
  BadValue,
  bad,
  ConfigError,
  type ConfigProblem,
  describeVariables,
  type Env,
  parsed,
  parseVariables,
  readVariables,
  type ValuesOf,
  type Variable,
  type VariableDescription,
  type VariableOptions,
  type Variables,
  variable,
} from './variables';
