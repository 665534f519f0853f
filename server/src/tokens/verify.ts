import { jwtVerify } from 'jose'
import type { JWTPayload } from 'jose'
import { ISSUER_SEPARATOR } from '../policy/principal.js'
import type { Principal } from '../policy/principal.js'
import { Name, subjectProblem } from '../policy/schema.js'
import type { SigningAlg } from '../store/types.js'
import { inspectToken, typMatches } from './inspect-token.js'
import { ACCESS_TOKEN_TYP } from './issue.js'
import type { KeyRing } from './key-ring.js'
import { createTokenCache } from './token-cache.js'
import { checkAlgorithms, routeTrustedIssuers } from './trusted-issuers.js'
import type { IssuerRoute, TrustedIssuer } from './trusted-issuers.js'
import { refuse, refusalOf } from './verify-result.js'
import type { VerifyResult } from './verify-result.js'

export type { VerifyDetail, VerifyResult } from './verify-result.js'

export interface VerifierOptions {
  keyRing: KeyRing
  issuer: string
  audience: string
  /** Allow-list for Vigil's own tokens. @default ['EdDSA', 'ES256'] */
  algorithms?: SigningAlg[]
  /** @default 30 (at most 300) */
  clockToleranceS?: number
  /** @default 8192 */
  maxTokenBytes?: number
  /** Verified tokens kept in memory. @default 10_000 */
  cacheSize?: number
  /** External identity providers, verified through their JWKS. @default [] */
  trustedIssuers?: TrustedIssuer[]
  /** Milliseconds since epoch; injectable for tests. @default Date.now */
  now?: () => number
}

export interface Verifier {
  /** Cache first (a hit still re-checks `exp`); otherwise full verification. Never throws. */
  verify(token: string): Promise<VerifyResult>
  /** Full verification, bypassing and not filling the cache. Never throws. */
  verifyUncached(token: string): Promise<VerifyResult>
  /**
   * The cache's answer alone, synchronously: a hit (or an expired hit), or `undefined` when only
   * a full verification can tell. Lets the hot path decide without a single await.
   */
  peek(token: string): VerifyResult | undefined
}

/** RFC 9068 §2.2: what every Vigil access token carries. */
const REQUIRED_CLAIMS = ['iss', 'aud', 'sub', 'sid', 'jti', 'iat', 'exp']

/**
 * Verifies access tokens: structural checks before any crypto, then jose with an explicit
 * algorithm allow-list, issuer, audience, `typ` and required claims. Verified tokens are cached
 * until they expire, and repeated verifications of one token return the same Principal object.
 *
 * @example
 * ```ts
 * const verifier = createVerifier({ keyRing, issuer: 'https://vigil.example', audience: 'app' })
 * const r = await verifier.verify(bearer)
 * if (!r.ok) return res.status(401).json({ error: { code: r.code, message: r.detail } })
 * ```
 */
export function createVerifier(options: VerifierOptions): Verifier {
  const { keyRing, issuer, audience } = options
  if (!keyRing || typeof keyRing.verificationKey !== 'function') {
    throw new TypeError('keyRing is required')
  }
  if (typeof issuer !== 'string' || issuer === '') throw new TypeError('issuer must be a string')
  if (typeof audience !== 'string' || audience === '') {
    throw new TypeError('audience must be a string')
  }
  const algorithms = checkAlgorithms(options.algorithms ?? ['EdDSA', 'ES256'], 'algorithms')
  if (algorithms.some((a) => a !== 'EdDSA' && a !== 'ES256')) {
    throw new TypeError(`algorithms may only hold 'EdDSA' and 'ES256'`)
  }
  const clockToleranceS = options.clockToleranceS ?? 30
  if (!Number.isFinite(clockToleranceS) || clockToleranceS < 0 || clockToleranceS > 300) {
    throw new TypeError('clockToleranceS must be between 0 and 300')
  }
  const maxTokenBytes = options.maxTokenBytes ?? 8192
  if (!Number.isInteger(maxTokenBytes) || maxTokenBytes < 256) {
    throw new TypeError('maxTokenBytes must be an integer of at least 256')
  }
  const now = options.now ?? Date.now
  const cache = createTokenCache({ max: options.cacheSize ?? 10_000, now })

  const typ = ACCESS_TOKEN_TYP
  const own: IssuerRoute = { issuer, audience, algorithms, typ, requiredClaims: REQUIRED_CLAIMS }
  const trusted = routeTrustedIssuers(options.trustedIssuers ?? [], {
    algorithms,
    typ,
    requiredClaims: REQUIRED_CLAIMS,
    ownIssuer: issuer,
  })
  const anyAlgorithm = new Set([
    ...algorithms,
    ...[...trusted.values()].flatMap((r) => r.algorithms),
  ])
  // Concurrent first verifications of one token share one result, hence one Principal object.
  const inflight = new Map<string, Promise<VerifyResult>>()

  async function verifyFully(token: unknown): Promise<VerifyResult> {
    const inspected = inspectToken(token, { maxTokenBytes, algorithms: anyAlgorithm })
    if (!inspected.ok) return refuse(inspected.detail)
    const { header, payload } = inspected

    const iss = payload.iss
    if (iss === undefined) return refuse('claim_missing')
    if (typeof iss !== 'string') return refuse('claim_invalid')
    const route = iss === issuer ? own : trusted.get(iss)
    if (!route) return refuse(trusted.size > 0 ? 'untrusted_issuer' : 'issuer_invalid')
    if (!route.algorithms.includes(header.alg as string)) return refuse('alg_not_allowed')
    if (!typMatches(header.typ, route.typ)) return refuse('typ_invalid')

    let key: CryptoKey | NonNullable<IssuerRoute['getKey']>
    if (route.getKey) key = route.getKey
    else {
      if (typeof header.kid !== 'string') return refuse('kid_unknown')
      const found = await keyRing.verificationKey(header.kid)
      if ('missing' in found) return refuse(found.missing)
      // A key is bound to one algorithm (RFC 8725 §3.1); the header may not pick another.
      if (found.alg !== header.alg) return refuse('alg_not_allowed')
      key = found.key
    }

    const verifyOptions = {
      algorithms: route.algorithms,
      issuer: route.issuer,
      audience: route.audience,
      typ: route.typ,
      requiredClaims: route.requiredClaims,
      clockTolerance: clockToleranceS,
      currentDate: new Date(now()),
    }
    let claims: JWTPayload
    try {
      // Two calls only because jose types a key and a key resolver as separate overloads.
      const verified =
        typeof key === 'function'
          ? await jwtVerify(token as string, key, verifyOptions)
          : await jwtVerify(token as string, key, verifyOptions)
      claims = verified.payload
    } catch (err) {
      return refusalOf(err)
    }
    return principalResult(claims, route)
  }

  function principalResult(claims: JWTPayload, route: IssuerRoute): VerifyResult {
    const { sub, sid, jti, iat, exp } = claims
    if (typeof sub !== 'string') return refuse('claim_invalid')
    // A local subject never holds the separator: it would read as an external issuer's subject.
    const external = route.subjectPrefix !== undefined
    if (!external && sub.includes(ISSUER_SEPARATOR)) return refuse('claim_invalid')
    const key = external ? route.subjectPrefix + sub : sub
    // One rule for subjects, here and in every API body: whoever signs in can be named there.
    if (subjectProblem(key) !== undefined) return refuse('claim_invalid')
    // Session and token ids can be revoked by name only if they are names.
    const isName = (id: unknown): id is string => Name.safeParse(id).success
    if (sid !== undefined && !isName(sid)) return refuse('claim_invalid')
    if (jti !== undefined && !isName(jti)) return refuse('claim_invalid')
    if (typeof exp !== 'number') return refuse('claim_missing')
    if (route.maxTokenLifetimeS !== undefined) {
      // Without `iat` the lifetime left is all that can be judged.
      const from = typeof iat === 'number' ? iat : now() / 1000
      if (exp - from > route.maxTokenLifetimeS) return refuse('lifetime_exceeded')
    }
    // jose checks `iat` against the clock only with maxTokenAge; a future `iat` would let a
    // token dodge "issued before" revocations, so it is refused here.
    if (typeof iat === 'number' && iat > now() / 1000 + clockToleranceS) {
      return refuse('issued_in_future')
    }
    const principal: Principal = Object.freeze({
      sub: key,
      ...(external ? { issuer: route.issuer, groupScope: route.groupScope! } : {}),
      sid,
      jti,
      iat,
      exp,
      claims: deepFreeze(claims),
    })
    return { ok: true, principal, exp, cached: false }
  }

  async function verifyUncached(token: string): Promise<VerifyResult> {
    try {
      return await verifyFully(token)
    } catch {
      // A bug or an unreachable store must not surface as an exception at the edge.
      return refuse('malformed')
    }
  }

  function peek(token: string): VerifyResult | undefined {
    if (typeof token !== 'string') return refuse('too_large')
    const hit = cache.get(token)
    if (!hit) return undefined
    if (hit.exp <= now() / 1000 - clockToleranceS) {
      cache.delete(token)
      return refuse('expired')
    }
    return hit
  }

  async function verify(token: string): Promise<VerifyResult> {
    try {
      const known = peek(token)
      if (known) return known
      const pending = inflight.get(token)
      if (pending) return await pending
      const run = verifyUncached(token).then((result) => {
        if (result.ok) {
          // The answer every later hit gives, made once: the hot path allocates nothing for it.
          const hit = Object.freeze({ ...result, cached: true })
          cache.set(token, hit, (result.exp + clockToleranceS) * 1000)
        }
        return result
      })
      inflight.set(token, run)
      try {
        return await run
      } finally {
        inflight.delete(token)
      }
    } catch {
      return refuse('malformed')
    }
  }

  return { verify, verifyUncached, peek }
}

function deepFreeze<T>(value: T): Readonly<T> {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const v of Object.values(value)) deepFreeze(v)
  }
  return value
}
