import type { JWK } from 'jose'
import type { PolicyStore, SigningAlg, StoredKey } from '../store/types.js'
import {
  generateStoredKey,
  importPrivateKey,
  importPublicKey,
  isSigningAlg,
  publicJwkOf,
} from './key-material.js'

export type { SigningAlg } from '../store/types.js'

export interface KeyRingOptions {
  store: PolicyStore
  /** Algorithm of the keys this node generates. @default 'EdDSA' (Ed25519) */
  alg?: SigningAlg
  /**
   * An unknown `kid` reloads the ring from the store at most once per this; the signer is also
   * re-read when the ring is older than this, in case a `keys.rotated` change was missed.
   * @default 5000
   */
  reloadIntervalMs?: number
  /** Longest access-token lifetime: a retiring key verifies this long (+ tolerance) after rotation. */
  maxTokenLifetimeS: number
  /** @default 30 */
  clockToleranceS?: number
  /** Milliseconds since epoch; injectable for tests. @default Date.now */
  now?: () => number
}

export type VerificationKey =
  { alg: SigningAlg; key: CryptoKey } | { missing: 'kid_unknown' | 'key_retired' }

export interface KeyRing {
  /** Loads the ring; when the store holds no key yet, creates one (another node may win the race). */
  init(): Promise<void>
  signingKey(): Promise<{ kid: string; alg: SigningAlg; key: CryptoKey }>
  verificationKey(kid: string): Promise<VerificationKey>
  /** Public parts of every key that still verifies. */
  jwks(): { keys: JWK[] }
  /** The new key signs and is published at once; the previous one retires after the longest token. */
  rotate(): Promise<{ kid: string; retiring: string | null }>
  /** Re-reads the ring from the store (on a `keys.rotated` change). */
  reload(): Promise<void>
  /**
   * The key records as last read from the store, private halves included: what a node writes
   * back when the store lost them (store-recovery.ts). Never logged or served.
   */
  held(): { keys: StoredKey[]; currentKid: string | null }
}

interface LoadedKey {
  alg: SigningAlg
  key: CryptoKey
  jwk: JWK
  retireAt: number | undefined
}

/**
 * The signing key ring shared by every node through the store: one signer, older keys verifying
 * until the tokens they signed have expired. Private keys are imported non-extractable and only
 * for the current signer.
 *
 * @example
 * ```ts
 * const ring = createKeyRing({ store, maxTokenLifetimeS: 900 })
 * await ring.init()
 * app.get('/.well-known/jwks.json', (_req, res) => res.json(ring.jwks()))
 * ```
 */
export function createKeyRing(options: KeyRingOptions): KeyRing {
  const { store } = options
  if (!store || typeof store.listKeys !== 'function') throw new TypeError('store is required')
  const alg = options.alg ?? 'EdDSA'
  if (!isSigningAlg(alg)) throw new TypeError(`alg must be 'EdDSA' or 'ES256'`)
  const reloadIntervalMs = options.reloadIntervalMs ?? 5000
  if (!Number.isFinite(reloadIntervalMs) || reloadIntervalMs < 0) {
    throw new TypeError('reloadIntervalMs must be a non-negative number')
  }
  const { maxTokenLifetimeS } = options
  if (!Number.isFinite(maxTokenLifetimeS) || maxTokenLifetimeS <= 0) {
    throw new TypeError('maxTokenLifetimeS must be a positive number')
  }
  const clockToleranceS = options.clockToleranceS ?? 30
  if (!Number.isFinite(clockToleranceS) || clockToleranceS < 0) {
    throw new TypeError('clockToleranceS must be a non-negative number')
  }
  const now = options.now ?? Date.now

  let keys = new Map<string, LoadedKey>()
  // Kids seen in the store and later pruned: a token naming one is `key_retired`, not unknown.
  const retired = new Set<string>()
  let signer: { kid: string; alg: SigningAlg; key: CryptoKey } | null = null
  let held: { keys: StoredKey[]; currentKid: string | null } = { keys: [], currentKid: null }
  let lastLoadAt = Number.NEGATIVE_INFINITY
  let tail: Promise<void> = Promise.resolve()
  let coalesced: Promise<void> | null = null
  let ready: Promise<void> | null = null

  async function importKey(stored: StoredKey): Promise<LoadedKey | null> {
    if (!isSigningAlg(stored.alg)) return null
    const previous = keys.get(stored.kid)
    try {
      const key = previous?.key ?? (await importPublicKey(stored))
      const jwk = previous?.jwk ?? publicJwkOf(stored.publicJwk, stored.kid, stored.alg)
      return { alg: stored.alg, key, jwk, retireAt: stored.retireAt }
    } catch {
      // One unreadable key must not take the ring down; tokens naming it fail as unknown.
      return null
    }
  }

  async function load(): Promise<void> {
    lastLoadAt = now()
    const [stored, currentKid] = await Promise.all([store.listKeys(), store.currentKid()])
    const next = new Map<string, LoadedKey>()
    for (const s of stored) {
      const loaded = await importKey(s)
      if (loaded) next.set(s.kid, loaded)
    }
    for (const [kid, old] of keys)
      if (!next.has(kid) && old.retireAt !== undefined) retired.add(kid)
    let nextSigner = signer
    if (currentKid === null) nextSigner = null
    else if (signer?.kid !== currentKid) {
      const current = stored.find((s) => s.kid === currentKid)
      if (!current || !isSigningAlg(current.alg)) {
        throw new Error(`the store names signing key ${currentKid} but does not hold it`)
      }
      nextSigner = { kid: current.kid, alg: current.alg, key: await importPrivateKey(current) }
    }
    keys = next
    signer = nextSigner
    // An emptied store reads as no keys: keep what we held, so a restore can write it back.
    if (stored.length > 0) held = { keys: stored, currentKid }
  }

  function reload(): Promise<void> {
    // Loads run one after another, so an older read never overwrites a newer one.
    const run = tail.catch(() => undefined).then(load)
    tail = run
    return run
  }

  function reloadThrottled(): Promise<void> {
    // Many callers at once (tokens naming the same new kid) share one read of the store.
    lastLoadAt = now()
    coalesced ??= reload().finally(() => {
      coalesced = null
    })
    return coalesced
  }

  async function initialize(): Promise<void> {
    await reload()
    if (signer) return
    // `false` means another node created the first key meanwhile; either way, read it back.
    await store.initKey(await generateStoredKey(alg, now()))
    await reload()
    if (!signer) throw new Error('the store holds no signing key after initKey')
  }

  function init(): Promise<void> {
    ready ??= initialize().catch((err: unknown) => {
      ready = null
      throw err
    })
    return ready
  }

  function isRetired(key: LoadedKey): boolean {
    return key.retireAt !== undefined && key.retireAt <= now()
  }

  return {
    init,
    reload,
    held: () => held,

    async signingKey() {
      await init()
      // Signing with a key another node has retired would mint tokens that die early.
      if (now() - lastLoadAt >= reloadIntervalMs) {
        try {
          await reloadThrottled()
        } catch {
          // The store is unreachable: keep signing with the key already held.
        }
      }
      if (!signer) await initialize()
      return signer!
    },

    async verificationKey(kid) {
      await init()
      let key = keys.get(kid)
      if (!key && !retired.has(kid) && now() - lastLoadAt >= reloadIntervalMs) {
        try {
          await reloadThrottled()
        } catch {
          // The store is unreachable: keep verifying with the keys already held.
        }
        key = keys.get(kid)
      }
      if (!key) return { missing: retired.has(kid) ? 'key_retired' : 'kid_unknown' }
      if (isRetired(key)) return { missing: 'key_retired' }
      return { alg: key.alg, key: key.key }
    },

    jwks() {
      const published: JWK[] = []
      for (const key of keys.values()) if (!isRetired(key)) published.push({ ...key.jwk })
      return { keys: published }
    },

    async rotate() {
      await init()
      const at = now()
      await store.pruneKeys(at)
      const retiring = await store.currentKid()
      const key = await generateStoredKey(alg, at)
      await store.rotateKey(key, at + (maxTokenLifetimeS + clockToleranceS) * 1000)
      await reload()
      return { kid: key.kid, retiring }
    },
  }
}
