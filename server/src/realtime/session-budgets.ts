import type { Socket } from 'socket.io'
import type { Principal } from '../policy/principal.js'
import { TokenBucket } from '../token-bucket.js'
import type { RateLimit } from './options.js'
import { RateLimiter, type SessionBucket } from './rate-limit.js'

/** A session's bucket, with how many live sockets draw from it. */
class Session extends TokenBucket implements SessionBucket {
  sockets = 0
  subject: Subject | undefined = undefined

  constructor(
    readonly sub: string,
    /** The session's key within its subject: its `sid`, or `\0<jti>` for a token without one. */
    readonly key: string,
    capacity: number,
    perSecond: number,
    now: number,
  ) {
    super(capacity, perSecond, now)
  }
}

/** A subject's bucket, made when the subject holds a second session; its sessions by key. */
class Subject extends TokenBucket {
  readonly sessions = new Map<string, Session>()

  constructor(
    readonly sub: string,
    capacity: number,
    perSecond: number,
    now: number,
  ) {
    super(capacity, perSecond, now)
  }
}

type Limiter = RateLimiter<Session>
type Conn = Socket['conn']

/**
 * The message budgets of this node's sessions and subjects, and the cap on a session's live
 * sockets (issue #13, item 3). A socket is admitted at the end of its handshake — the count is
 * taken there, synchronously, so handshakes racing each other cannot all slip under the cap —
 * and released when it disconnects, or when its connection closes before it ever connected.
 *
 * A subject with one session (the common case) has no bucket of its own: the session's, the
 * smaller, is the binding one. Its second session makes one, starting with what the first has
 * already spent taken off. A bucket whose last socket left is kept until it has refilled:
 * otherwise a client could reconnect to start again from a full burst. Memory is bounded by the
 * live sockets plus the sessions that left within one refill time; per socket, only its limiter.
 *
 * @example
 * ```ts
 * const budgets = new SessionBudgets(RATE_LIMIT_DEFAULTS, 20)
 * const limiter = budgets.admit(socket, principal) // undefined: too_many_sockets
 * io.on('connection', (socket) => budgets.connected(socket))
 * ```
 */
export class SessionBudgets {
  /** By subject: its one session's bucket, or its subject bucket holding its sessions. */
  readonly #subjects = new Map<string, Session | Subject>()
  /** Buckets whose last socket (or session) left, in the order they left, with when. */
  readonly #idle = new Map<Session | Subject, number>()
  /** Admitted sockets that have not connected yet, by their connection. */
  readonly #pending = new Map<Conn, Limiter>()
  /** One listener for every pending connection: `this` is the connection that closed. */
  readonly #onEarlyClose: (this: Conn) => void
  /** How long an emptied bucket takes to be full again (the same for sessions and subjects). */
  readonly #refillMs: number
  #sessions = 0

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
    const pending = this.#pending
    const release = (limiter: Limiter): void => this.release(limiter)
    this.#onEarlyClose = function onEarlyClose(this: Conn) {
      const limiter = pending.get(this)
      pending.delete(this)
      if (limiter) release(limiter)
    }
  }

  /**
   * Counts `socket` against its session's cap and returns its limiter; undefined (and nothing
   * counted) when the session already holds the most sockets it may.
   */
  admit(socket: Socket, principal: Principal, now: number = Date.now()): RateLimiter | undefined {
    this.#sweep(now)
    const { sub } = principal
    const key = principal.sid ?? `\u0000${principal.jti ?? ''}`
    const held = this.#subjects.get(sub)
    let session = held instanceof Subject ? held.sessions.get(key) : held
    if (session !== undefined && session.key !== key) session = undefined
    if (session && session.sockets >= this.maxSocketsPerSession) return undefined
    if (!session) session = this.#open(sub, key, held, now)
    session.sockets += 1
    this.#idle.delete(session)
    const limiter = new RateLimiter(this.limit, session, now)
    this.#pending.set(socket.conn, limiter)
    // A socket whose connection closes before it connects never sees `disconnect`.
    socket.conn.on('close', this.#onEarlyClose)
    return limiter
  }

  /** The socket connected: from now on its `disconnect` releases it. */
  connected(socket: Socket): void {
    if (this.#pending.delete(socket.conn)) socket.conn.off('close', this.#onEarlyClose)
  }

  /** The socket is gone. Idempotent: a second call for one limiter does nothing. */
  release(limiter: RateLimiter, now: number = Date.now()): void {
    if (limiter.released) return
    limiter.released = true
    const session = limiter.session as Session
    session.sockets -= 1
    if (session.sockets > 0) return
    if (session.full(now)) this.#close(session, now)
    else this.#idle.set(session, now)
    this.#sweep(now)
  }

  /** Sessions and subjects holding a bucket, and sockets not connected yet (for tests). */
  get size(): { sessions: number; subjects: number; pending: number } {
    let subjects = 0
    for (const held of this.#subjects.values()) if (held instanceof Subject) subjects += 1
    return { sessions: this.#sessions, subjects, pending: this.#pending.size }
  }

  #open(sub: string, key: string, held: Session | Subject | undefined, now: number): Session {
    const { burst, perSecond, subjectSessions: k } = this.limit
    const session = new Session(sub, key, burst, perSecond, now)
    this.#sessions += 1
    if (held === undefined) {
      this.#subjects.set(sub, session)
      return session
    }
    let subject = held
    if (subject instanceof Session) {
      const first = subject
      subject = new Subject(sub, burst * k, perSecond * k, now)
      // What the first session already spent counts against the subject too.
      first.refill(now)
      subject.tokens -= first.capacity - first.tokens
      subject.sessions.set(first.key, first)
      first.subject = subject
      this.#subjects.set(sub, subject)
    }
    this.#idle.delete(subject)
    subject.sessions.set(key, session)
    session.subject = subject
    return session
  }

  /** Forgets a session whose bucket is full and unused; its subject too once it has none. */
  #close(session: Session, now: number): void {
    this.#sessions -= 1
    const { subject } = session
    if (subject === undefined) {
      if (this.#subjects.get(session.sub) === session) this.#subjects.delete(session.sub)
      return
    }
    subject.sessions.delete(session.key)
    if (subject.sessions.size > 0) return
    if (subject.full(now)) this.#subjects.delete(subject.sub)
    else this.#idle.set(subject, now)
  }

  /** Forgets the buckets idle for a whole refill time (so full again), oldest first. */
  #sweep(now: number): void {
    for (const [held, since] of this.#idle) {
      if (since + this.#refillMs > now) break
      this.#idle.delete(held)
      if (held instanceof Session) {
        if (held.sockets === 0) this.#close(held, now)
      } else if (held.sessions.size === 0 && this.#subjects.get(held.sub) === held) {
        this.#subjects.delete(held.sub)
      }
    }
  }
}
