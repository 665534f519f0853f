import type { Socket } from 'socket.io'
import type { Principal } from '../policy/principal.js'
import type { RateLimit } from './options.js'
import { TokenBucket } from '../token-bucket.js'
import { RateLimiter } from './rate-limit.js'

/** A bucket and how many live sockets draw from it. */
interface Held {
  bucket: TokenBucket
  sockets: number
}

/** What one admitted socket holds: its limiter, and the keys it was admitted under. */
interface Admitted {
  limiter: RateLimiter
  session: string
  subject: string
}

/**
 * The message budgets of this node's sessions and subjects, and the cap on a session's live
 * sockets (issue #13, item 3). A socket is admitted at the end of its handshake — the count is
 * taken there, synchronously, so handshakes racing each other cannot all slip under the cap —
 * and released when it disconnects, or when its connection closes before it ever connected.
 *
 * A session whose last socket left keeps its bucket until the bucket has refilled: otherwise a
 * client could reconnect to start again from a full burst. Memory is bounded by the live sockets
 * plus the sessions that left within one refill time.
 *
 * @example
 * ```ts
 * const budgets = new SessionBudgets(RATE_LIMIT_DEFAULTS, 20)
 * if (!budgets.admit(socket, principal)) return next(handshakeError('too_many_sockets', '…'))
 * socket.use(guard(socket, entry, budgets.limiterOf(socket.id)!))
 * ```
 */
export class SessionBudgets {
  readonly #sessions = new Map<string, Held>()
  readonly #subjects = new Map<string, Held>()
  /** Keys whose last socket left, in the order they left, with when. */
  readonly #idleSessions = new Map<string, number>()
  readonly #idleSubjects = new Map<string, number>()
  readonly #admitted = new Map<string, Admitted>()
  /** How long an emptied bucket takes to be full again. */
  readonly #refillMs: number

  constructor(
    readonly limit: RateLimit,
    readonly maxSocketsPerSession: number,
  ) {
    const { perSecond, burst, subjectSessions, floodRefusals } = limit
    for (const [name, value] of Object.entries({ perSecond, burst, subjectSessions })) {
      if (!(value > 0)) throw new TypeError(`rateLimit.${name} must be a positive number`)
    }
    if (!(floodRefusals >= 1)) throw new TypeError('rateLimit.floodRefusals must be at least 1')
    if (!Number.isInteger(maxSocketsPerSession) || maxSocketsPerSession < 1) {
      throw new TypeError('maxSocketsPerSession must be a positive integer')
    }
    this.#refillMs = (burst / perSecond) * 1000
  }

  /**
   * Counts `socket` against its session's cap; false (and nothing counted) when the session
   * already holds the most sockets it may.
   */
  admit(socket: Socket, principal: Principal, now: number = Date.now()): boolean {
    this.#sweep(now)
    const session = sessionKey(principal)
    const held = this.#sessions.get(session)
    if (held && held.sockets >= this.maxSocketsPerSession) return false
    const { limit } = this
    const s = this.#hold(
      this.#sessions,
      this.#idleSessions,
      session,
      limit.burst,
      limit.perSecond,
      now,
    )
    const subject = principal.sub
    const k = limit.subjectSessions
    const u = this.#hold(
      this.#subjects,
      this.#idleSubjects,
      subject,
      limit.burst * k,
      limit.perSecond * k,
      now,
    )
    const limiter = new RateLimiter(limit, s.bucket, u.bucket, now)
    this.#admitted.set(socket.id, { limiter, session, subject })
    // A socket whose connection closes before it connects never sees `disconnect`.
    socket.conn.once('close', () => this.release(socket.id))
    return true
  }

  /** The limiter of an admitted socket. */
  limiterOf(id: string): RateLimiter | undefined {
    return this.#admitted.get(id)?.limiter
  }

  /** The socket is gone; called on disconnect and on its connection's close (either first). */
  release(id: string, now: number = Date.now()): void {
    const admitted = this.#admitted.get(id)
    if (!admitted) return
    this.#admitted.delete(id)
    this.#let(this.#sessions, this.#idleSessions, admitted.session, now)
    this.#let(this.#subjects, this.#idleSubjects, admitted.subject, now)
    this.#sweep(now)
  }

  /** Sockets admitted and not released; sessions and subjects with a bucket (for tests). */
  get size(): { sockets: number; sessions: number; subjects: number } {
    return {
      sockets: this.#admitted.size,
      sessions: this.#sessions.size,
      subjects: this.#subjects.size,
    }
  }

  #hold(
    map: Map<string, Held>,
    idle: Map<string, number>,
    key: string,
    capacity: number,
    perSecond: number,
    now: number,
  ): Held {
    let held = map.get(key)
    if (!held)
      map.set(key, (held = { bucket: new TokenBucket(capacity, perSecond, now), sockets: 0 }))
    held.sockets += 1
    idle.delete(key)
    return held
  }

  #let(map: Map<string, Held>, idle: Map<string, number>, key: string, now: number): void {
    const held = map.get(key)
    if (!held) return
    held.sockets -= 1
    if (held.sockets > 0) return
    if (held.bucket.full(now)) map.delete(key)
    else idle.set(key, now)
  }

  /** Forgets the buckets that have been idle for a whole refill time (so are full again). */
  #sweep(now: number): void {
    for (const [map, idle] of [
      [this.#sessions, this.#idleSessions],
      [this.#subjects, this.#idleSubjects],
    ] as const) {
      for (const [key, since] of idle) {
        if (since + this.#refillMs > now) break
        idle.delete(key)
        if (map.get(key)?.sockets === 0) map.delete(key)
      }
    }
  }
}

/**
 * A session is named by its subject and `sid`: a `sid` cannot be borrowed across subjects. A
 * token without a `sid` (some external issuers) is a session of its own, by `jti`.
 */
function sessionKey(p: Principal): string {
  return p.sid !== undefined
    ? `s\u0000${p.sub}\u0000${p.sid}`
    : `t\u0000${p.sub}\u0000${p.jti ?? ''}`
}
