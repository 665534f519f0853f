import type { RateLimit } from './options.js'

const FLOOD_WINDOW_MS = 10_000

/**
 * A per-socket token bucket. `take()` says whether a message may pass; `flooding` turns true once
 * the socket keeps sending after being refused, so it can be cut off instead of just slowed.
 */
export function createRateLimiter(limit: RateLimit, now: () => number = Date.now) {
  let tokens = limit.burst
  let last = now()
  let refusals = 0
  let windowStart = last
  return {
    take(): boolean {
      const t = now()
      tokens = Math.min(limit.burst, tokens + ((t - last) / 1000) * limit.perSecond)
      last = t
      if (tokens >= 1) {
        tokens -= 1
        return true
      }
      if (t - windowStart > FLOOD_WINDOW_MS) {
        windowStart = t
        refusals = 0
      }
      refusals += 1
      return false
    },
    get flooding(): boolean {
      return refusals >= limit.floodRefusals
    },
  }
}

export type RateLimiter = ReturnType<typeof createRateLimiter>
