/**
 * `@vigil-enforcer/client`: the Vigil SDK for browsers and Node. One live session per client — tokens kept
 * fresh, `fetch` and socket messages guarded, and a teardown that stops the app's work the moment
 * the session is revoked. Internals (token keeper, tab channel, matcher) are not exported.
 *
 * @module
 */

export { createVigilClient } from './client.js'
export type { VigilClient } from './client.js'
export type { SessionTokens, VigilClientOptions, VigilStorage } from './options.js'
export type { VigilRequestInit } from './guarded-fetch.js'
export type { RequiredPermission } from './capabilities.js'
export type {
  RefreshEvent,
  RefreshTrigger,
  SessionExpiredEvent,
  TeardownEvent,
  TeardownReason,
  VigilEventMap,
  VigilEventName,
  VigilHandler,
} from './events.js'

export { ERROR_CODES, EVENTS, VigilError, isErrorCode } from './protocol.js'
export type {
  Capabilities,
  CapabilitiesEvent,
  ErrorBody,
  ErrorCode,
  ExpiredEvent,
  ExpiringEvent,
  Permission,
  RevokedEvent,
  StepDownEvent,
  StepUpEvent,
  TokenPair,
} from './protocol.js'
