import { createRemoteJWKSet } from 'jose'
import type { JWTVerifyGetKey } from 'jose'
import { ISSUER_SEPARATOR } from '../policy/principal.js'
import type { SigningAlg } from '../store/types.js'

/** An external identity provider whose access tokens Vigil accepts, verified through its JWKS. */
export interface TrustedIssuer {
  /** Exact `iss` value of its tokens. */
  issuer: string
  /** `https:` URL of its JWKS (`http:` only for localhost, for development and tests). */
  jwksUrl: string
  /** The `aud` its tokens must carry for this deployment. */
  audience: string
  /** Asymmetric algorithms only. @default the verifier's `algorithms` */
  algorithms?: SigningAlg[] | string[]
  /** Expected `typ` header. @default 'at+jwt' */
  typ?: string
  /** Claims its tokens must carry. @default ['iss','aud','sub','sid','jti','iat','exp'] */
  requiredClaims?: string[]
  /**
   * Whether its claim-derived groups are the local ones: `groups: ['admins']` then gives
   * `group:admins` rather than `<issuer>|group:admins`. Only for an issuer trusted to name local
   * groups. @default false
   */
  sharedGroups?: boolean
  /** Longest lifetime (`exp` − `iat`, seconds) accepted from it. @default 3600 */
  maxTokenLifetimeS?: number
}

/** Longest issuer accepted: its subject keys (`<issuer>|<sub>`) must fit the subject rule. */
const MAX_ISSUER = 255
/** @see TrustedIssuer.maxTokenLifetimeS */
const DEFAULT_MAX_LIFETIME_S = 3600

/** One issuer ready for verification. */
export interface IssuerRoute {
  issuer: string
  audience: string
  algorithms: string[]
  typ: string
  requiredClaims: string[]
  /** Absent for Vigil's own key ring, which is consulted directly. */
  getKey?: JWTVerifyGetKey
  /** External issuers only: put before `sub` to make the subject key (`<issuer>|`). */
  subjectPrefix?: string
  /** External issuers only: put before each claim-derived group key (`<issuer>|` or `''`). */
  groupScope?: string
  /** External issuers only: the longest `exp` − `iat` accepted, seconds. */
  maxTokenLifetimeS?: number
}

/** Public-key JWS algorithms; HMAC and `none` are never accepted from anyone. */
const ASYMMETRIC = new Set([
  ...['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'],
  ...['ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'],
])

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]'])

/** Thrown by a key resolver when the JWKS could not be fetched; mapped to `jwks_unavailable`. */
export class JwksUnavailable extends Error {
  readonly code = 'ERR_JOSE_GENERIC'
}

/** Checks an algorithm list (TypeError on misuse) and returns it as strings. */
export function checkAlgorithms(algorithms: readonly string[], label: string): string[] {
  if (!Array.isArray(algorithms) || algorithms.length === 0) {
    throw new TypeError(`${label} must be a non-empty array`)
  }
  for (const alg of algorithms) {
    if (!ASYMMETRIC.has(alg)) throw new TypeError(`${label}: ${String(alg)} is not allowed`)
  }
  return [...algorithms]
}

/**
 * Builds the route of each trusted external issuer. Remote key sets are created here, once, so
 * their cache and cooldown (jose's defaults: 10 min, 30 s) are shared by every verification.
 */
export function routeTrustedIssuers(
  trusted: readonly TrustedIssuer[],
  defaults: { algorithms: string[]; typ: string; requiredClaims: string[]; ownIssuer: string },
): Map<string, IssuerRoute> {
  if (!Array.isArray(trusted)) throw new TypeError('trustedIssuers must be an array')
  const routes = new Map<string, IssuerRoute>()
  for (const [i, t] of trusted.entries()) {
    const label = `trustedIssuers[${i}]`
    if (typeof t?.issuer !== 'string' || t.issuer === '' || t.issuer.length > MAX_ISSUER) {
      throw new TypeError(`${label}.issuer must be a string of 1 to ${MAX_ISSUER} characters`)
    }
    // The separator must split a subject key in one way only.
    if (t.issuer.includes(ISSUER_SEPARATOR)) {
      throw new TypeError(`${label}.issuer must not contain ${ISSUER_SEPARATOR}`)
    }
    const maxLifetime = t.maxTokenLifetimeS ?? DEFAULT_MAX_LIFETIME_S
    if (!Number.isInteger(maxLifetime) || maxLifetime <= 0) {
      throw new TypeError(`${label}.maxTokenLifetimeS must be a positive integer`)
    }
    if (t.sharedGroups !== undefined && typeof t.sharedGroups !== 'boolean') {
      throw new TypeError(`${label}.sharedGroups must be a boolean`)
    }
    if (t.issuer === defaults.ownIssuer || routes.has(t.issuer)) {
      throw new TypeError(`${label}.issuer is already configured`)
    }
    if (typeof t.audience !== 'string' || t.audience === '') {
      throw new TypeError(`${label}.audience must be a string`)
    }
    const url = jwksUrlOf(t.jwksUrl, label)
    const remote = createRemoteJWKSet(url)
    const getKey: JWTVerifyGetKey = async function trustedIssuerKey(header, token) {
      try {
        return await remote(header, token)
      } catch (err) {
        // jose's coded errors map as they are; a network failure surfaces as a plain TypeError.
        if (typeof (err as { code?: unknown })?.code === 'string') throw err
        throw new JwksUnavailable('the JWKS of a trusted issuer could not be fetched', {
          cause: err,
        })
      }
    }
    routes.set(t.issuer, {
      issuer: t.issuer,
      audience: t.audience,
      algorithms: checkAlgorithms(t.algorithms ?? defaults.algorithms, `${label}.algorithms`),
      typ: t.typ ?? defaults.typ,
      requiredClaims: t.requiredClaims ? [...t.requiredClaims] : defaults.requiredClaims,
      getKey,
      subjectPrefix: t.issuer + ISSUER_SEPARATOR,
      groupScope: t.sharedGroups === true ? '' : t.issuer + ISSUER_SEPARATOR,
      maxTokenLifetimeS: maxLifetime,
    })
  }
  return routes
}

function jwksUrlOf(value: unknown, label: string): URL {
  let url: URL
  try {
    url = new URL(String(value))
  } catch {
    throw new TypeError(`${label}.jwksUrl must be a URL`)
  }
  // Keys fetched over plain HTTP could be swapped by anyone on the path.
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOCAL_HOSTS.has(url.hostname))) {
    throw new TypeError(`${label}.jwksUrl must be https (http only for localhost)`)
  }
  return url
}
