import { SignJWT } from 'jose'
import { subjectProblem } from '../policy/schema.js'
import { checkCustomClaims } from './claims.js'
import type { KeyRing } from './key-ring.js'
import { randomId } from './key-material.js'

export { RESERVED_CLAIMS, checkCustomClaims } from './claims.js'

/** The `typ` header of every access token Vigil issues (RFC 9068 §2.1). */
export const ACCESS_TOKEN_TYP = 'at+jwt'

export interface TokenIssuerOptions {
  keyRing: KeyRing
  issuer: string
  audience: string
  /** Access-token lifetime in seconds: minutes, not hours. */
  accessTtlS: number
  /** Milliseconds since epoch; injectable for tests. @default Date.now */
  now?: () => number
}

export interface IssuedAccessToken {
  token: string
  jti: string
  /** Epoch seconds. */
  iat: number
  /** Epoch seconds. */
  exp: number
  kid: string
}

export interface TokenIssuer {
  issueAccessToken(input: {
    sub: string
    sid: string
    claims?: Record<string, unknown>
  }): Promise<IssuedAccessToken>
}

/** Longest session id accepted; the policy schema's names are at most this long. */
const MAX_ID = 200

/**
 * Issues RFC 9068-shaped access tokens signed by the key ring's current signer.
 *
 * @example
 * ```ts
 * const issuer = createTokenIssuer({ keyRing, issuer: 'https://vigil.example', audience: 'app', accessTtlS: 300 })
 * const { token, exp } = await issuer.issueAccessToken({ sub: 'alice', sid: 's1', claims: { tenant: 'acme' } })
 * ```
 */
export function createTokenIssuer(options: TokenIssuerOptions): TokenIssuer {
  const { keyRing, issuer, audience, accessTtlS } = options
  if (!keyRing || typeof keyRing.signingKey !== 'function')
    throw new TypeError('keyRing is required')
  if (typeof issuer !== 'string' || issuer === '') throw new TypeError('issuer must be a string')
  if (typeof audience !== 'string' || audience === '') {
    throw new TypeError('audience must be a string')
  }
  if (!Number.isInteger(accessTtlS) || accessTtlS <= 0) {
    throw new TypeError('accessTtlS must be a positive integer')
  }
  const now = options.now ?? Date.now

  return {
    async issueAccessToken(input) {
      const { sub, sid, claims } = input
      // The subject rule the verifier and every API body apply (see subjectProblem).
      const problem = typeof sub === 'string' ? subjectProblem(sub) : 'must be a string'
      if (problem !== undefined) throw new TypeError(`sub ${problem}`)
      if (!isId(sid)) throw new TypeError(`sid must be a non-empty string of at most ${MAX_ID}`)
      const check = checkCustomClaims(claims)
      // Callers validate untrusted claims with checkCustomClaims first; reaching here is misuse.
      if (!check.ok) throw new TypeError(`claims.${check.path} ${check.message}`)

      const signer = await keyRing.signingKey()
      const jti = randomId(16)
      const iat = Math.floor(now() / 1000)
      const exp = iat + accessTtlS
      // Registered claims last, so nothing in `claims` can override them.
      const payload = { ...claims, iss: issuer, aud: audience, sub, sid, jti, iat, exp }
      const token = await new SignJWT(payload)
        .setProtectedHeader({ alg: signer.alg, kid: signer.kid, typ: ACCESS_TOKEN_TYP })
        .sign(signer.key)
      return { token, jti, iat, exp, kid: signer.kid }
    },
  }
}

function isId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_ID
}
