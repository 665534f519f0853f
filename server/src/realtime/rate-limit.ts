import type { RateLimit } from './options.js'

const FLOOD_WINDOW_MS = 10_000

/**
 * A per-socket token bucket. `take()` says whether a message may pass; `flooding` turns true once
 * the socket keeps sending after being refused, so it can be cut off instead of just slowed.
 *
 * A class rather than a closure: one of these lives as long as each socket, and its state is four
 * numbers.
 */
export class RateLimiter {
  readonly #limit: RateLimit
  readonly #now: () => number
  #tokens: number
  #last: number
  #refusals = 0
  #windowStart: number

  constructor(limit: RateLimit, now: () => number = Date.now) {
    this.#limit = limit
    this.#now = now
    this.#tokens = limit.burst
    this.#last = now()
    this.#windowStart = this.#last
  }

  /** `t`: the caller's clock reading, if it has one (same clock as `now`). */
  take(t: number = this.#now()): boolean {
    const limit = this.#limit
    this.#tokens = Math.min(limit.burst, this.#tokens + ((t - this.#last) / 1000) * limit.perSecond)
    this.#last = t
    if (this.#tokens >= 1) {
      this.#tokens -= 1
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
    return this.#refusals >= this.#limit.floodRefusals
  }
}

/**
 * @example
 * ```ts
 * const limiter = createRateLimiter({ perSecond: 50, burst: 100, floodRefusals: 200 })
 * if (!limiter.take()) ack(ackError('rate_limited', 'too many messages; slow down'))
 * ```
 */
export function createRateLimiter(limit: RateLimit, now: () => number = Date.now): RateLimiter {
  return new RateLimiter(limit, now)
}
