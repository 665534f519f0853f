/**
 * The wire contract between the enforcer and its clients: event names, payload shapes and error
 * codes. Server and SDK both import this file, so the two can never drift apart.
 *
 * @module
 */

/** Every error code Vigil puts on the wire (HTTP bodies, socket acks, `connect_error.data.code`). */
export const ERROR_CODES = [
  'token_missing',
  'token_invalid',
  'token_expired',
  'revoked',
  'forbidden',
  'policy_stale',
  /** The store lost acknowledged state (emptied, rolled back); the node denies until it is back. */
  'store_reset',
  'origin_forbidden',
  'invalid_payload',
  'invalid_request',
  'invalid_grant',
  'invalid_policy',
  'rate_limited',
  /** Handshake only: the session already holds as many live sockets as a node allows it. */
  'too_many_sockets',
  'unauthorized',
  'conflict',
  'not_found',
  'unsupported_media_type',
  'payload_too_large',
  /** A change would grow the policy document beyond a documented per-section cap (HTTP 413). */
  'policy_too_large',
  /** A decision batch used more than its CPU budget; send smaller batches (HTTP 413). */
  'budget_exceeded',
  /** A request body that is not valid JSON (the demo app's routes; the API says invalid_request). */
  'invalid_json',
  'store_unavailable',
  'closed',
  'internal',
] as const

export type ErrorCode = (typeof ERROR_CODES)[number]

/** The JSON body of every error answer: `{ error: { code, message } }`. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: unknown }
}

/**
 * The one error class of Vigil. `code` is stable and safe to switch on; `message` is for humans
 * and never contains a token or a secret.
 *
 * @example
 * ```ts
 * try { await vigil.emit('doc:edit', payload) } catch (err) {
 *   if (err instanceof VigilError && err.code === 'forbidden') showReadOnly()
 * }
 * ```
 */
export class VigilError extends Error {
  override readonly name = 'VigilError'
  readonly code: ErrorCode
  readonly details: unknown

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; details?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.details = options?.details
  }

  toJSON(): ErrorBody {
    const error: ErrorBody['error'] = { code: this.code, message: this.message }
    if (this.details !== undefined) error.details = this.details
    return { error }
  }
}

/** True when `value` is an error code Vigil knows. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value)
}

/** Socket.io event names. Server → client unless noted. */
export const EVENTS = {
  capabilities: 'vigil:capabilities',
  stepDown: 'vigil:step-down',
  stepUp: 'vigil:step-up',
  revoked: 'vigil:revoked',
  expiring: 'vigil:expiring',
  /** The token expired without a refresh; the server closes the socket right after. */
  expired: 'vigil:expired',
  /** Client → server, with ack. */
  refresh: 'vigil:refresh',
  /** Service feed, client → server with ack: what to watch, and from which version to resume. */
  subscribe: 'vigil:subscribe',
  /** Service feed, client → server with ack: one decision query or a batch. */
  decide: 'vigil:decide',
  /** Service feed, server → client: the missed changes are no longer known; re-check state. */
  resync: 'vigil:resync',
} as const

/** The socket.io namespace of the backend-service feed (authenticated with the API key). */
export const SERVICE_NAMESPACE = '/services'

/** One permission: an action pattern on a resource pattern, `*` globs. */
export interface Permission {
  action: string
  resource: string
}

/**
 * What a principal may do now. `deny` lists the patterns of deny rules that apply to it, so a
 * client's `can()` answers exactly as the server would for role and rule grants.
 */
export interface Capabilities {
  roles: string[]
  allow: Permission[]
  deny: Permission[]
}

export interface CapabilitiesEvent {
  version: number
  capabilities: Capabilities
}

export interface StepDownEvent extends CapabilitiesEvent {
  /** Permissions held before the change and not after it. */
  removed: Permission[]
  /** Milliseconds since epoch when the change was written to the store. */
  at: number
}

export interface StepUpEvent extends CapabilitiesEvent {
  /** Permissions held after the change and not before it. */
  added: Permission[]
  /** Milliseconds since epoch when the change was written to the store. */
  at: number
}

export interface RevokedEvent {
  reason: string
  version: number
  /** Milliseconds since epoch when the change was written to the store. */
  at: number
}

export interface ExpiringEvent {
  /** Seconds since epoch when the current access token expires. */
  exp: number
}

export interface ExpiredEvent {
  code: 'token_expired'
  /** Seconds since epoch when the access token expired. */
  exp: number
}

/** The ack of `vigil:refresh`: the new token's expiry, or a coded refusal. */
export type RefreshAck = Ack<{ exp: number; version: number }>

export interface RefreshPayload {
  token: string
}

export type Ack<T> = { ok: true; data: T } | ErrorBody

/** The session a user gets from `POST /v1/sessions` and `POST /v1/token`. */
export interface TokenPair {
  access_token: string
  refresh_token: string
  token_type: 'Bearer'
  expires_in: number
  session_id: string
}

/** A decision, as returned by the decision API and logged by the audit log. */
export interface DecisionBody {
  allow: boolean
  reason: string
  rule?: string
  version: number
}

/** `vigil:subscribe` payload: subjects and/or sessions to watch (or all), resuming after `since`. */
export interface SubscribePayload {
  subjects?: string[]
  sessions?: string[]
  all?: boolean
  /** The last version this service saw; every later change is replayed, none twice. */
  since?: number
}

/** A revocation on the service feed; exactly one of subject / session / jti names its target. */
export interface ServiceRevokedEvent {
  version: number
  at: number
  reason: string
  subject?: string
  session?: string
  jti?: string
  /** For `issued_before` revocations: the subject's tokens issued before this (epoch s) are dead. */
  issued_before?: number
}

/** A subject's permissions changed (evaluated for the subject alone, without token claims). */
export interface ServiceStepEvent {
  version: number
  at: number
  subject: string
  roles: string[]
  removed?: Permission[]
  added?: Permission[]
}

export interface ResyncEvent {
  version: number
  reason: 'history_unavailable' | 'policy_replaced'
}

/** One decision query of the decision API and the service feed's `vigil:decide`. */
export type DecisionQuery =
  | { token: string; action: string; resource: string }
  | { subject: string; claims?: Record<string, unknown>; action: string; resource: string }

/** Most changes one `POST /v1/policy/changes` batch may hold. */
export const MAX_POLICY_BATCH = 10_000

/**
 * One policy change as `POST /v1/policy/changes` takes it (the enforcer validates it; see the
 * README's change types). The most used, spelled out; any other type passes through.
 */
export type PolicyChange =
  | { type: 'subject.roles'; subject: string; roles: string[] }
  | {
      type: 'revoke' | 'revoke.lift'
      target:
        | { kind: 'subject'; subject: string }
        | { kind: 'session'; session: string; until?: number }
        | { kind: 'token'; jti: string; until?: number }
        | { kind: 'issued_before'; subject: string; before: number }
      reason?: string
    }
  | { type: string; [field: string]: unknown }

/** The answer to an applied batch: the one new version it made. */
export interface AppliedChanges {
  version: number
  /** Milliseconds since epoch when the store wrote it. */
  at: number
  /** How many changes the version holds. */
  changes: number
}
