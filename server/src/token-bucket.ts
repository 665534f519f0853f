/**
 * Token buckets, the one rate-limiting primitive: the realtime layer shares one per session and
 * per subject between sockets (`realtime/session-budgets.ts`), the token endpoint keeps one per
 * refresh family and per client in a bounded map (`KeyedBuckets`).
 *
 * @module
 * @internal
 */

/**
 * A token bucket: `capacity` tokens, refilled at `perSecond`. Its state is two numbers, so many
 * holders can share one (every socket of a session holds a reference to the session's).
 */
export class TokenBucket {
  tokens: number
  last: number

  constructor(
    readonly capacity: number,
    readonly perSecond: number,
    now: number,
  ) {
    this.tokens = capacity
    this.last = now
  }

  /** Adds what was earned since the last reading (`t`: the caller's clock reading, epoch ms). */
  refill(t: number): void {
    if (t <= this.last) return
    this.tokens = Math.min(this.capacity, this.tokens + ((t - this.last) / 1000) * this.perSecond)
    this.last = t
  }

  /** True once the bucket is back to its capacity: forgetting it then loses nothing. */
  full(t: number): boolean {
    this.refill(t)
    return this.tokens >= this.capacity
  }

  /** Takes one token if there is one; otherwise says in how many ms there will be. */
  take(t: number): { ok: true } | { ok: false; retryInMs: number } {
    this.refill(t)
    if (this.tokens >= 1) {
      this.tokens -= 1
      return { ok: true }
    }
    return { ok: false, retryInMs: Math.ceil(((1 - this.tokens) / this.perSecond) * 1000) }
  }
}

export interface BucketLimit {
  /** Sustained requests per second. */
  perSecond: number
  /** Burst size. */
  burst: number
}

const TAKEN = { ok: true } as const

/**
 * One bucket per key (a client address, a refresh family), in a map bounded to `maxKeys`: past
 * it, the key used least recently is forgotten — it comes back with a full bucket, which costs
 * at most one burst, while an unbounded map would grow with every address or forged family an
 * attacker tries. A full bucket is worth nothing and is dropped whenever it is met.
 *
 * @example
 * ```ts
 * const clients = new KeyedBuckets({ perSecond: 20, burst: 200 }, 10_000)
 * const taken = clients.take(req.ip ?? '', Date.now())
 * if (!taken.ok) res.setHeader('Retry-After', Math.ceil(taken.retryInMs / 1000))
 * ```
 */
export class KeyedBuckets {
  readonly #buckets = new Map<string, TokenBucket>()

  constructor(
    readonly limit: BucketLimit,
    readonly maxKeys: number,
  ) {
    if (!(limit.perSecond > 0) || !(limit.burst >= 1)) {
      throw new TypeError('a rate limit needs perSecond > 0 and burst >= 1')
    }
    if (!Number.isInteger(maxKeys) || maxKeys < 1) {
      throw new TypeError('maxKeys must be a positive integer')
    }
  }

  take(key: string, now: number): { ok: true } | { ok: false; retryInMs: number } {
    const buckets = this.#buckets
    let bucket = buckets.get(key)
    if (bucket === undefined) {
      bucket = new TokenBucket(this.limit.burst, this.limit.perSecond, now)
      if (buckets.size >= this.maxKeys) this.#evict(now)
    } else buckets.delete(key)
    // Re-inserted: the map's order is the order of last use, oldest first.
    buckets.set(key, bucket)
    const taken = bucket.take(now)
    return taken.ok ? TAKEN : taken
  }

  /** How many keys hold a bucket (for tests: bounded by `maxKeys`). */
  get size(): number {
    return this.#buckets.size
  }

  /** Drops the least recently used key, and any full buckets just behind it. */
  #evict(now: number): void {
    let dropped = 0
    for (const [key, bucket] of this.#buckets) {
      if (dropped > 0 && !bucket.full(now)) break
      this.#buckets.delete(key)
      dropped += 1
      if (dropped >= 16) break
    }
  }
}
