import type { Socket } from 'socket.io'
import type { Principal } from '../policy/principal.js'
import { TokenBucket } from '../token-bucket.js'
import type { RateLimit } from './options.js'
import { RateLimiter } from './rate-limit.js'

/** A session's or a subject's bucket, with how many live sockets draw from it. */
class SharedBucket extends TokenBucket {
  sockets = 0

  constructor(
    readonly key: string,
    capacity: number,
    perSecond: number,
    now: number,
  ) {
    super(capacity, perSecond, now)
  }
}

type Limiter = RateLimiter<SharedBucket>

/**
 * The message budgets of this node's sessions and subjects, and the cap on a session's live
 * sockets (issue #13, item 3). A socket is admitted at the end of its handshake — the count is
 * taken there, synchronously, so handshakes racing each other cannot all slip under the cap —
 * and released when it disconnects, or when its connection closes before it ever connected.
 *
 * A session whose last socket left keeps its bucket until the bucket has refilled: otherwise a
 * client could reconnect to start again from a full burst. Memory is bounded by the live sockets
 * plus the sessions that left within one refill time. Per socket, it keeps only the socket's
 * limiter (which holds its two buckets) and one listener on its connection.
 *
 * @example
 * ```ts
 * const budgets = new SessionBudgets(RATE_LIMIT_DEFAULTS, 20)
 * if (!budgets.admit(socket, principal)) return next(handshakeError('too_many_sockets', '…'))
 * socket.use(guard(socket, entry, budgets.limiterOf(socket.id)!))
 * ```
 */
export class SessionBudgets {
  readonly #sessions = new Map<string, SharedBucket>()
  readonly #subjects = new Map<string, SharedBucket>()
  /** Buckets whose last socket left, in the order they left, with when. */
  readonly #idle = new Map<SharedBucket, number>()
  readonly #admitted = new Map<string, Limiter>()
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
    const key = sessionKey(principal)
    const known = this.#sessions.get(key)
    if (known && known.sockets >= this.maxSocketsPerSession) return false
    const { burst, perSecond, subjectSessions: k } = this.limit
    const session = this.#hold(this.#sessions, key, burst, perSecond, now)
    const subject = this.#hold(this.#subjects, principal.sub, burst * k, perSecond * k, now)
    const { id } = socket
    this.#admitted.set(id, new RateLimiter(this.limit, session, subject, now))
    // A socket whose connection closes before it connects never sees `disconnect`. `on`, not
    // `once`: release is idempotent, and `once` would wrap the listener in two more objects.
    socket.conn.on('close', () => this.release(id))
    return true
  }

  /** The limiter of an admitted socket. */
  limiterOf(id: string): RateLimiter | undefined {
    return this.#admitted.get(id)
  }

  /** The socket is gone; called on disconnect and on its connection's close (either first). */
  release(id: string, now: number = Date.now()): void {
    const limiter = this.#admitted.get(id)
    if (!limiter) return
    this.#admitted.delete(id)
    this.#let(this.#sessions, limiter.session, now)
    this.#let(this.#subjects, limiter.subject, now)
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
    map: Map<string, SharedBucket>,
    key: string,
    capacity: number,
    perSecond: number,
    now: number,
  ): SharedBucket {
    let bucket = map.get(key)
    if (!bucket) map.set(key, (bucket = new SharedBucket(key, capacity, perSecond, now)))
    bucket.sockets += 1
    this.#idle.delete(bucket)
    return bucket
  }

  #let(map: Map<string, SharedBucket>, bucket: SharedBucket, now: number): void {
    bucket.sockets -= 1
    if (bucket.sockets > 0) return
    if (bucket.full(now)) map.delete(bucket.key)
    else this.#idle.set(bucket, now)
  }

  /** Forgets the buckets that have been idle for a whole refill time (so are full again). */
  #sweep(now: number): void {
    for (const [bucket, since] of this.#idle) {
      if (since + this.#refillMs > now) break
      this.#idle.delete(bucket)
      if (bucket.sockets > 0) continue
      const map = this.#sessions.get(bucket.key) === bucket ? this.#sessions : this.#subjects
      if (map.get(bucket.key) === bucket) map.delete(bucket.key)
    }
  }
}

/**
 * A session is named by its subject and `sid`: a `sid` cannot be borrowed across subjects. A
 * token without a `sid` (some external issuers) is a session of its own, by `jti`. The prefix
 * keeps the two kinds apart.
 */
function sessionKey(p: Principal): string {
  return p.sid !== undefined
    ? `s\u0000${p.sub}\u0000${p.sid}`
    : `t\u0000${p.sub}\u0000${p.jti ?? ''}`
}
