/**
 * Reads the few claims the SDK schedules by from an access token, without verifying it: the
 * enforcer verifies every use, and the client only needs to know *when* to refresh and *which
 * session* it holds.
 *
 * @module
 * @internal
 */

/** The unverified claims the SDK uses. Absent when the token is opaque or malformed. */
export interface TokenClaims {
  /** Seconds since epoch (server clock). */
  exp?: number
  /** Seconds since epoch (server clock). */
  iat?: number
  /** The session id. */
  sid?: string
}

/**
 * Decodes a JWT's payload. Returns `{}` for anything that is not a JWT, so opaque tokens from a
 * `getToken` callback still work (they are then refreshed on `vigil:expiring` and on a 401).
 *
 * @example
 * ```ts
 * const { exp, sid } = readClaims(pair.access_token)
 * ```
 */
export function readClaims(token: string): TokenClaims {
  const part = token.split('.')[1]
  if (part === undefined || part === '') return {}
  try {
    const base64 = part.replace(/-/g, '+').replace(/_/g, '/')
    const binary = atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4))
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0))
    const claims = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>
    const out: TokenClaims = {}
    if (typeof claims['exp'] === 'number') out.exp = claims['exp']
    if (typeof claims['iat'] === 'number') out.iat = claims['iat']
    if (typeof claims['sid'] === 'string') out.sid = claims['sid']
    return out
  } catch {
    return {}
  }
}
