import type { TokenBucket } from '../token-bucket.js'
import type { RateLimit } from './options.js'

const FLOOD_WINDOW_MS = 10_000

/**
 * One socket's view of its budget: a message passes when both its session's and its subject's
 * buckets have a token, and takes one from each. `flooding` turns true once this socket keeps
 * sending after being refused, so it can be cut off instead of just slowed; it is counted per
 * socket, so one flooding tab does not get its session's other sockets cut off.
 *
 * A class rather than a closure: one of these lives as long as each socket. It is also what
 * the session budgets keep per socket: the buckets it holds say what to release.
 */
export class RateLimiter<B extends TokenBucket = TokenBucket> {
  readonly #floodRefusals: number
  #refusals = 0
  #windowStart: number

  constructor(
    limit: RateLimit,
    readonly session: B,
    readonly subject: B,
    now: number,
  ) {
    this.#floodRefusals = limit.floodRefusals
    this.#windowStart = now
  }

  /** `t`: the caller's clock reading (Date.now()). */
  take(t: number = Date.now()): boolean {
    const { session, subject } = this
    session.refill(t)
    subject.refill(t)
    // Both or neither: a message refused by one bucket must not spend the other's token.
    if (session.tokens >= 1 && subject.tokens >= 1) {
      session.tokens -= 1
      subject.tokens -= 1
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
