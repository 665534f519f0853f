import { SignJWT } from 'jose'
import type { JWTHeaderParameters, JWTPayload } from 'jose'
import { createMemoryStore } from '../../src/store/memory-store.js'
import type { PolicyStore, SigningAlg } from '../../src/store/types.js'
import { createKeyRing } from '../../src/tokens/key-ring.js'
import type { KeyRing } from '../../src/tokens/key-ring.js'
import { createTokenIssuer } from '../../src/tokens/issue.js'
import type { TokenIssuer } from '../../src/tokens/issue.js'
import { createVerifier } from '../../src/tokens/verify.js'
import type { Verifier, VerifierOptions } from '../../src/tokens/verify.js'

/** Shared set-up for the token tests: an injectable clock and a wired key ring, issuer, verifier. */

export const ISSUER = 'https://vigil.test'
export const AUDIENCE = 'vigil-app'
export const ACCESS_TTL_S = 300
export const TOLERANCE_S = 30
export const RELOAD_MS = 5000

export interface Clock {
  now: () => number
  advance(ms: number): void
  /** Current time in epoch seconds. */
  seconds(): number
}

/** A manual clock starting at a fixed instant; tests move it, never sleep. */
export function createClock(start = Date.UTC(2030, 0, 1)): Clock {
  let t = start
  return {
    now: () => t,
    advance(ms) {
      t += ms
    },
    seconds: () => Math.floor(t / 1000),
  }
}

export interface Rig {
  clock: Clock
  store: PolicyStore
  ring: KeyRing
  issuer: TokenIssuer
  verifier: Verifier
}

/** A store, a key ring on it, an issuer and a verifier, all on one manual clock. */
export async function createRig(
  options: {
    alg?: SigningAlg
    clock?: Clock
    store?: PolicyStore
    verifier?: Partial<VerifierOptions>
  } = {},
): Promise<Rig> {
  const clock = options.clock ?? createClock()
  const store = options.store ?? createMemoryStore({ now: clock.now })
  const ring = createKeyRing({
    store,
    alg: options.alg,
    maxTokenLifetimeS: ACCESS_TTL_S,
    clockToleranceS: TOLERANCE_S,
    reloadIntervalMs: RELOAD_MS,
    now: clock.now,
  })
  await ring.init()
  const issuer = createTokenIssuer({
    keyRing: ring,
    issuer: ISSUER,
    audience: AUDIENCE,
    accessTtlS: ACCESS_TTL_S,
    now: clock.now,
  })
  const verifier = createVerifier({
    keyRing: ring,
    issuer: ISSUER,
    audience: AUDIENCE,
    clockToleranceS: TOLERANCE_S,
    now: clock.now,
    ...options.verifier,
  })
  return { clock, store, ring, issuer, verifier }
}

/** The claims a valid Vigil access token carries at the clock's current time. */
export function validClaims(clock: Clock, overrides: JWTPayload = {}): JWTPayload {
  const iat = clock.seconds()
  return {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'alice',
    sid: 'session-1',
    jti: 'jti-1',
    iat,
    exp: iat + ACCESS_TTL_S,
    ...overrides,
  }
}

/**
 * Signs arbitrary claims and header with the ring's real signing key: a token only the server
 * could have made, used to show that claim checks hold even when the signature is good.
 */
export async function signWithRing(
  ring: KeyRing,
  payload: JWTPayload,
  header: Partial<JWTHeaderParameters> = {},
): Promise<string> {
  const signer = await ring.signingKey()
  return new SignJWT(payload)
    .setProtectedHeader({ alg: signer.alg, kid: signer.kid, typ: 'at+jwt', ...header })
    .sign(signer.key)
}

/** base64url of a value's JSON (or of a raw string). */
export function b64(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value)
  return Buffer.from(text, 'utf8').toString('base64url')
}

/** Decodes one part of a compact JWS. */
export function decodePart(token: string, index: 0 | 1): Record<string, unknown> {
  const part = token.split('.')[index] ?? ''
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>
}

/** Wraps a store, counting calls of each method (to assert that reloads are throttled). */
export function countingStore(store: PolicyStore): {
  store: PolicyStore
  calls: Map<string, number>
} {
  const calls = new Map<string, number>()
  const wrapped = new Proxy(store, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver)
      if (typeof value !== 'function' || typeof prop !== 'string') return value
      return (...args: unknown[]) => {
        calls.set(prop, (calls.get(prop) ?? 0) + 1)
        return (value as (...a: unknown[]) => unknown).apply(target, args)
      }
    },
  })
  return { store: wrapped, calls }
}
