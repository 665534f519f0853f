import type { TokenBucket } from '../token-bucket.js'
import type { RateLimit } from './options.js'

const FLOOD_WINDOW_MS = 10_000

/** A session's bucket, and its subject's once the subject has more than one session. */
export interface SessionBucket extends TokenBucket {
  readonly subject: TokenBucket | undefined
}

/**
 * One socket's view of its budget: a message passes when its session's bucket — and its
 * subject's, when there is one — has a token, and takes one from each. `flooding` turns true
 * once this socket keeps sending after being refused, so it can be cut off instead of just
 * slowed; it is counted per socket, so one flooding tab does not get its session's other sockets
 * cut off.
 *
 * A class rather than a closure: one of these lives as long as each socket, and it is all the
 * session budgets keep per socket (its bucket says what to release).
 */
export class RateLimiter<B extends SessionBucket = SessionBucket> {
  readonly #floodRefusals: number
  #refusals = 0
  #windowStart: number
  /** Set once the socket is gone: a release is counted once, whichever event comes first. */
  released = false

  constructor(
    limit: RateLimit,
    readonly session: B,
    now: number,
  ) {
    this.#floodRefusals = limit.floodRefusals
    this.#windowStart = now
  }

  /** `t`: the caller's clock reading (Date.now()). */
  take(t: number = Date.now()): boolean {
    const { session } = this
    const { subject } = session
    session.refill(t)
    subject?.refill(t)
    // Both or neither: a message refused by one bucket must not spend the other's token.
    if (session.tokens >= 1 && (subject === undefined || subject.tokens >= 1)) {
      session.tokens -= 1
      if (subject !== undefined) subject.tokens -= 1
      return true
    }
    if (t - this.#windowStart > FLOOD_WINDOW_MS) {
      this.#windowStart = t
      this.#refusals = 0
    }
    this.#refusals += 1
    return false
  }

  get flooding(): boolean {
    return this.#refusals >= this.#floodRefusals
  }
}
