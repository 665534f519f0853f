/**
 * The client's typed events and the small emitter behind `vigil.on()`.
 *
 * @module
 */
import { createTypedEmitter, type TypedEmitter } from './typed-emitter.js'
import type {
  CapabilitiesEvent,
  RevokedEvent,
  StepDownEvent,
  StepUpEvent,
  VigilError,
} from './protocol.js'

/**
 * Why a client stopped: the session was revoked, it could no longer be renewed (`expired`), or
 * the app called `close()`.
 */
export type TeardownReason = 'revoked' | 'expired' | 'closed'

export interface TeardownEvent {
  reason: TeardownReason
  /** The error every later call rejects with (code `revoked`, `token_expired` or `closed`). */
  error: VigilError
}

export interface SessionExpiredEvent {
  /** `invalid_grant` (the refresh token was refused) or `token_expired`. */
  error: VigilError
}

/** What made the client renew its access token. */
export type RefreshTrigger =
  'schedule' | 'expiring' | 'expired' | 'retry' | 'reconnect' | 'wake' | 'peer'

export interface RefreshEvent {
  /** The new access token's expiry in seconds since epoch, when it is a JWT. */
  exp: number | undefined
  trigger: RefreshTrigger
}

/** Every event of a Vigil client and its payload. */
export interface VigilEventMap {
  /** The capabilities of the session, pushed on every (re)connect. */
  capabilities: CapabilitiesEvent
  /** A policy change took permissions away; in-flight requests that needed them were aborted. */
  'step-down': StepDownEvent
  /** A policy change granted permissions. */
  'step-up': StepUpEvent
  /** The session was revoked (here or in another tab of it). Emitted once, then `teardown`. */
  revoked: RevokedEvent
  /** The session can no longer be renewed. Emitted once, then `teardown`. */
  expired: SessionExpiredEvent
  /** The client stopped for good; every later call rejects with `error`. */
  teardown: TeardownEvent
  /** The access token was renewed (the token itself is never put in an event). */
  refresh: RefreshEvent
  /** A problem the client recovers from on its own (a failed refresh it retries, …). */
  error: VigilError
}

export type VigilEventName = keyof VigilEventMap
export type VigilHandler<E extends VigilEventName> = (event: VigilEventMap[E]) => void

/** @internal */
export type Emitter = TypedEmitter<VigilEventMap>

/**
 * The client's emitter: a throwing handler is reported on `error` (or to `onDebug` when it was an
 * `error` handler) and the others still run.
 *
 * @internal
 */
export function createEmitter(onHandlerError: (event: string, err: unknown) => void): Emitter {
  return createTypedEmitter<VigilEventMap>((event, err) => onHandlerError(String(event), err))
}
