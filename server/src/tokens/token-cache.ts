import { LRUCache } from 'lru-cache'
import type { VerifyResult } from './verify-result.js'

/**
 * The verified-token cache: token string → the answer it verified to. Bounded by entry count,
 * each entry living until its token expires. Only successes are stored: caching refusals would
 * let anyone fill the cache with garbage and evict real sessions.
 */

export interface TokenCacheOptions {
  max: number
  /** Milliseconds since epoch; the cache ages entries on this clock. */
  now: () => number
}

/** A verified token, as the verifier answers every later hit (`cached: true`, frozen). */
export type CachedToken = Readonly<Extract<VerifyResult, { ok: true }>>

export interface TokenCache {
  get(token: string): CachedToken | undefined
  /** Stores the answer, unless `expiresAtMs` (injected clock) has passed; the verifier ages hits. */
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
  // Keyed by the signature segment, not the whole token: a lookup hashes its ~86 characters
  // instead of the kilobyte of the token, once per request. The entry keeps the whole token, and
  // a hit must equal it exactly, so a forged token that reuses a real signature is a miss.
  // No TTL here: the verifier checks `exp` on every hit, reports a cached token that has since
  // expired as expired and deletes it; the LRU bound keeps the rest in check.
  const lru = new LRUCache<string, Entry>({ max: options.max })

  function get(token: string): CachedToken | undefined {
    const key = keyOf(token)
    const entry = lru.get(key)
    return entry !== undefined && entry.token === token ? entry.cached : undefined
  }

  return {
    get,
    set(token, cached, expiresAtMs) {
      if (expiresAtMs > now()) lru.set(keyOf(token), { token, cached })
    },
    delete(token) {
      const key = keyOf(token)
      if (lru.peek(key)?.token === token) lru.delete(key)
    },
    clear: () => lru.clear(),
    get size() {
      return lru.size
    },
  }
}

interface Entry {
  token: string
  cached: CachedToken
}

/** The signature segment of a compact JWS (the whole string when it has no dot). */
function keyOf(token: string): string {
  return token.slice(token.lastIndexOf('.') + 1)
}
