import type { TokenPair } from '@vigil-enforcer/client/protocol'
import type { Principal } from '../policy/principal.js'
import type { PolicyStore, RefreshRecord } from '../store/types.js'
import { checkCustomClaims } from './claims.js'
import type { TokenIssuer } from './issue.js'
import { randomId } from './key-material.js'
import { newRefreshToken, parseRefreshToken } from './refresh-token.js'

export interface SessionTokensOptions {
  store: PolicyStore
  issuer: TokenIssuer
  /** Access-token lifetime in seconds; reported as `expires_in`. */
  accessTtlS: number
  /** Refresh-token lifetime in seconds, sliding: each rotation extends it. @default 1_209_600 (14 days) */
  refreshTtlS?: number
  /** How far verifiers' clocks may disagree, in seconds; session revocations outlast it. @default 30 */
  clockToleranceS?: number
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
  /**
   * Until when (epoch seconds) a session revoked at `nowMs` must stay revoked: after the refresh
   * lifetime, the access-token lifetime and the clock tolerance no token of it can be valid, so
   * the revocation may then be pruned.
   */
  revocationUntil(nowMs: number): number
  /**
   * The earliest `until` a session revoked at `nowMs` may be given once its refresh family is
   * revoked too: its access tokens, which nothing else stops, must have expired by then.
   */
  earliestRevocationUntil(nowMs: number): number
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
  const clockToleranceS = options.clockToleranceS ?? 30
  if (!Number.isInteger(clockToleranceS) || clockToleranceS < 0) {
    throw new TypeError('clockToleranceS must be a non-negative integer')
  }
  const now = options.now ?? Date.now
  const revocationUntil = (nowMs: number): number =>
    Math.ceil(nowMs / 1000) + refreshTtlS + accessTtlS + clockToleranceS

  async function pairFor(
    record: Pick<RefreshRecord, 'sub' | 'sid' | 'claims'>,
    refreshToken: string,
  ): Promise<TokenPair> {
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
      const record: Omit<RefreshRecord, 'generation'> = {
        sub: input.sub,
        sid: randomId(16),
        iat: Math.floor(at / 1000),
        exp: at + refreshTtlS * 1000,
      }
      if (input.claims !== undefined) record.claims = structuredClone(input.claims)
      // Issue first: it validates `sub`, and a failure then leaves no orphan refresh token.
      const refresh = newRefreshToken(record.sid)
      const pair = await pairFor(record, refresh.token)
      await store.saveRefresh(record, { family: refresh.familyHash, token: refresh.hash })
      return pair
    },

    async refresh(refreshToken) {
      const presented = parseRefreshToken(refreshToken)
      if (!presented) return fail('unknown')
      const { sid } = presented
      const record = await store.getRefresh(sid, presented.familyHash)
      if (!record) return fail('unknown')

      const principal: Principal = {
        sub: record.sub,
        sid: record.sid,
        iat: record.iat,
        claims: { ...record.claims, sub: record.sub, sid: record.sid, iat: record.iat },
      }
      if (await isRevoked(principal)) {
        // The session is over; its refresh tokens must not outlive a later lifting of the rule.
        await store.revokeFamily(sid)
        return fail('revoked')
      }

      const next = newRefreshToken(sid, presented.familySecret)
      const at = now()
      const hashes = { family: presented.familyHash, token: presented.hash }
      const rotated = await store.rotateRefresh(sid, hashes, next.hash, at, at + refreshTtlS * 1000)
      if (!rotated.ok) {
        if (rotated.reason === 'reused') await revokeSession(sid, at)
        return fail(rotated.reason)
      }
      const pair = await pairFor(rotated.next, next.token)
      return { ok: true, pair, sub: rotated.next.sub, sid: rotated.next.sid }
    },

    revocationUntil,
    earliestRevocationUntil: (nowMs) => Math.ceil(nowMs / 1000) + accessTtlS + clockToleranceS,
  }

  async function revokeSession(sid: string, atMs: number): Promise<void> {
    // Access tokens of the session may still be live, held by the thief or the victim: revoking
    // the session makes every node close its sockets and refuse its tokens now. Once no token of
    // it can be valid any more, the revocation has done its work and is pruned.
    await store.apply({
      type: 'revoke',
      target: { kind: 'session', session: sid, until: revocationUntil(atMs) },
      reason: REUSE_REASON,
    })
  }
}
