import { LRUCache } from 'lru-cache'
import type { Principal } from '../policy/principal.js'

/**
 * The verified-token cache: token string → the Principal it verified to. Bounded by entry count,
 * each entry living until its token expires. Only successes are stored: caching refusals would
 * let anyone fill the cache with garbage and evict real sessions.
 */

export interface TokenCacheOptions {
  max: number
  /** Milliseconds since epoch; the cache ages entries on this clock. */
  now: () => number
}

export interface CachedToken {
  principal: Principal
  /** Expiry, epoch seconds. */
  exp: number
}

export interface TokenCache {
  get(token: string): CachedToken | undefined
  /** Stores until `expiresAtMs` (on the injected clock); nothing is stored if that has passed. */
  set(token: string, entry: CachedToken, expiresAtMs: number): void
  delete(token: string): void
  clear(): void
  readonly size: number
}

/**
 * Creates the cache.
 *
 * @example
 * ```ts
 * const cache = createTokenCache({ max: 10_000, now: Date.now })
 * cache.set(token, { principal, exp }, exp * 1000)
 * ```
 */
export function createTokenCache(options: TokenCacheOptions): TokenCache {
  if (!Number.isInteger(options.max) || options.max < 1) {
    throw new TypeError('cacheSize must be a positive integer')
  }
  const { now } = options
  const lru = new LRUCache<string, CachedToken>({
    max: options.max,
    // Ages on the same clock as the verifier; resolution 0 avoids a debounce timer per read.
    perf: { now },
    ttlResolution: 0,
  })

  return {
    get: (token) => lru.get(token),
    set(token, entry, expiresAtMs) {
      const ttl = Math.floor(expiresAtMs - now())
      if (ttl > 0) lru.set(token, entry, { ttl })
    },
    delete: (token) => void lru.delete(token),
    clear: () => lru.clear(),
    get size() {
      return lru.size
    },
  }
}
