export { AccessControl, type RefusalReason } from './access-control';
export {
  type AuthConfig,
  AuthError,
  type AuthMode,
  type AuthPrincipal,
  entitlementsOf,
  JwtVerifier,
  tokenOf,
} from './jwt';
