import type { TokenPair } from '@vigil/client/protocol'
import type { Principal } from '../policy/principal.js'
import type { PolicyStore, RefreshRecord } from '../store/types.js'
import { checkCustomClaims } from './claims.js'
import type { TokenIssuer } from './issue.js'
import { randomId } from './key-material.js'
import { hashRefreshToken, isRefreshTokenShaped, newRefreshToken } from './refresh-token.js'

export interface SessionTokensOptions {
  store: PolicyStore
  issuer: TokenIssuer
  /** Access-token lifetime in seconds; reported as `expires_in`. */
  accessTtlS: number
  /** Refresh-token lifetime in seconds, sliding: each rotation extends it. @default 1_209_600 (14 days) */
  refreshTtlS?: number
  /** Policy check: is this principal revoked now? (the composer passes the compiled policy's check) */
  isRevoked: (p: Principal) => boolean | Promise<boolean>
  /** Milliseconds since epoch; injectable for tests. @default Date.now */
  now?: () => number
}

export type RefreshFailure = {
  ok: false
  code: 'invalid_grant'
  detail: 'unknown' | 'expired' | 'reused' | 'family_revoked' | 'revoked'
}

export type RefreshResult = { ok: true; pair: TokenPair; sub: string; sid: string } | RefreshFailure

export interface SessionTokens {
  /** A new session: new `sid`, new refresh family, first token pair. */
  create(input: { sub: string; claims?: Record<string, unknown> }): Promise<TokenPair>
  /** Spends a refresh token for a new pair (RFC 9700 §4.14.2: rotation with reuse detection). */
  refresh(refreshToken: string): Promise<RefreshResult>
}

/** Why the session of a replayed refresh token is revoked; shown to its live sockets. */
export const REUSE_REASON = 'refresh_token_reuse'

/**
 * Session creation and refresh-token rotation. A refresh re-checks the live policy, so a revoked
 * subject gets nothing; replaying a spent token revokes its family and its session, so a stolen
 * token and the legitimate one can never both keep working.
 *
 * @example
 * ```ts
 * const sessions = createSessionTokens({ store, issuer, accessTtlS: 300, isRevoked: (p) => policy.isRevoked(p) })
 * const pair = await sessions.create({ sub: 'alice' })
 * const next = await sessions.refresh(pair.refresh_token)
 * ```
 */
export function createSessionTokens(options: SessionTokensOptions): SessionTokens {
  const { store, issuer, accessTtlS, isRevoked } = options
  if (!store || typeof store.rotateRefresh !== 'function') throw new TypeError('store is required')
  if (!issuer || typeof issuer.issueAccessToken !== 'function') {
    throw new TypeError('issuer is required')
  }
  if (!Number.isInteger(accessTtlS) || accessTtlS <= 0) {
    throw new TypeError('accessTtlS must be a positive integer')
  }
  const refreshTtlS = options.refreshTtlS ?? 86400 * 14
  if (!Number.isInteger(refreshTtlS) || refreshTtlS <= accessTtlS) {
    throw new TypeError('refreshTtlS must be an integer longer than accessTtlS')
  }
  if (typeof isRevoked !== 'function') throw new TypeError('isRevoked must be a function')
  const now = options.now ?? Date.now

  async function pairFor(record: RefreshRecord, refreshToken: string): Promise<TokenPair> {
    const { token } = await issuer.issueAccessToken({
      sub: record.sub,
      sid: record.sid,
      claims: record.claims,
    })
    return {
      access_token: token,
      refresh_token: refreshToken,
      token_type: 'Bearer',
      expires_in: accessTtlS,
      session_id: record.sid,
    }
  }

  function fail(detail: RefreshFailure['detail']): RefreshFailure {
    return { ok: false, code: 'invalid_grant', detail }
  }

  return {
    async create(input) {
      const check = checkCustomClaims(input.claims)
      // The API validates untrusted claims first; reaching here with bad ones is misuse.
      if (!check.ok) throw new TypeError(`claims.${check.path} ${check.message}`)
      const at = now()
      const record: RefreshRecord = {
        family: randomId(16),
        sub: input.sub,
        sid: randomId(16),
        iat: Math.floor(at / 1000),
        exp: at + refreshTtlS * 1000,
      }
      if (input.claims !== undefined) record.claims = structuredClone(input.claims)
      // Issue first: it validates `sub`, and a failure then leaves no orphan refresh token.
      const { token, hash } = newRefreshToken()
      const pair = await pairFor(record, token)
      await store.saveRefresh(hash, record)
      return pair
    },

    async refresh(refreshToken) {
      if (!isRefreshTokenShaped(refreshToken)) return fail('unknown')
      const hash = hashRefreshToken(refreshToken)
      const record = await store.getRefresh(hash)
      if (!record) return fail('unknown')

      const principal: Principal = {
        sub: record.sub,
        sid: record.sid,
        iat: record.iat,
        claims: { ...record.claims, sub: record.sub, sid: record.sid, iat: record.iat },
      }
      if (await isRevoked(principal)) {
        // The session is over; its refresh tokens must not outlive a later lifting of the rule.
        await store.revokeFamily(record.family)
        return fail('revoked')
      }

      const next = newRefreshToken()
      const at = now()
      const rotated = await store.rotateRefresh(hash, next.hash, at, at + refreshTtlS * 1000)
      if (!rotated.ok) {
        if (rotated.reason === 'reused') await revokeSession(rotated.record.sid)
        return fail(rotated.reason)
      }
      const pair = await pairFor(rotated.next, next.token)
      return { ok: true, pair, sub: rotated.next.sub, sid: rotated.next.sid }
    },
  }

  async function revokeSession(sid: string): Promise<void> {
    // Access tokens of the session may still be live, held by the thief or the victim: revoking
    // the session makes every node close its sockets and refuse its tokens now.
    await store.apply({
      type: 'revoke',
      target: { kind: 'session', session: sid },
      reason: REUSE_REASON,
    })
  }
}
