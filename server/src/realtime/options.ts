import type { z } from 'zod'

/**
 * How an app event maps to a decision: the action it needs and the resource it touches, derived
 * from its (validated) payload. Events without a rule are denied.
 *
 * @example
 * ```ts
 * const events = {
 *   'doc:edit': { action: 'doc:write', resource: (p) => `doc/${p.docId}`, schema: DocEdit },
 * } satisfies EventRules
 * ```
 */
export interface EventRule<S extends z.ZodType = z.ZodType> {
  action: string
  resource: string | ((payload: z.output<S>) => string)
  /** Validates the first argument; a failure is answered with `invalid_payload`. */
  schema?: S
  /** `strong` catches up with the store before deciding (one Redis read). @default 'fast' */
  consistency?: 'fast' | 'strong'
}

export type EventRules = Record<string, EventRule<any>>

/**
 * The message budget. It belongs to the session, not the socket: all the sockets of one session
 * draw from one bucket, and all the sessions of one subject from a second, larger one — so
 * opening more sockets or sessions buys no more messages.
 */
export interface RateLimit {
  /** Sustained messages per second per session (all its sockets together). @default 50 */
  perSecond: number
  /** Burst size per session. @default 100 */
  burst: number
  /**
   * How many sessions' worth of budget one subject gets across all its sessions (its rate and
   * its burst are this many times the session's). @default 3
   */
  subjectSessions: number
  /** Refusals of one socket within 10 s after which it is disconnected as a flood. @default 200 */
  floodRefusals: number
}

export interface RealtimeOptions {
  events: EventRules
  rateLimit?: Partial<RateLimit>
  /**
   * Live sockets one session may hold on this node; the handshake of one more is refused with
   * `connect_error` coded `too_many_sockets`. A browser opens one per tab. @default 20
   */
  maxSocketsPerSession?: number
  /** `vigil:expiring` is pushed this long before `exp` (capped at half the lifetime). @default 30 */
  expiringLeadS?: number
  /** A socket whose token expired is disconnected after this grace. @default 5 */
  expiryGraceS?: number
  /** How often this node refreshes its entries in the cross-node session directory. @default 5000 */
  directoryHeartbeatMs?: number
}

export const RATE_LIMIT_DEFAULTS: RateLimit = {
  perSecond: 50,
  burst: 100,
  subjectSessions: 3,
  floodRefusals: 200,
}

export const MAX_SOCKETS_PER_SESSION = 20

/** Largest socket.io message the server accepts (socket.io's own default is 1 MB). */
export const MAX_MESSAGE_BYTES = 64 * 1024
