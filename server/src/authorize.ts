// Imported: the global `performance` is a lazy getter, paid on each of two reads per decision.
import { performance } from 'node:perf_hooks'
import { VigilError, type ErrorCode } from '@vigil-enforcer/client/protocol'
import type { AuditLog, DecisionRecord } from './audit/audit-log.js'
import type { LivePolicy } from './live-policy.js'
import type { Metrics } from './metrics.js'
import type { Decision, DecisionReason } from './policy/index.js'
import type { Principal } from './policy/principal.js'
import type { Verifier, VerifyResult } from './tokens/index.js'

export type DenialCode = Extract<
  ErrorCode,
  | 'token_missing'
  | 'token_invalid'
  | 'token_expired'
  | 'revoked'
  | 'forbidden'
  | 'policy_stale'
  | 'store_reset'
>

/** Why a request or message is refused. `message` is for humans and never holds the token. */
export interface Denial {
  ok: false
  code: DenialCode
  message: string
  principal?: Principal
  decision?: Decision
}

export type Authenticated = { ok: true; principal: Principal; version: number } | Denial
export type Authorized = { ok: true; principal: Principal; decision: Decision } | Denial

export interface AuthorizeOptions {
  transport: DecisionRecord['transport']
  /** `strong`: first catch up with the store's current version (one Redis read). @default 'fast' */
  consistency?: 'fast' | 'strong'
}

export interface Authorizer {
  /** Token valid, node fresh, session not revoked: who is this, right now? */
  authenticate(token: string | undefined, opts: AuthorizeOptions): Promise<Authenticated>
  /**
   * The same decision, synchronously, when it needs no I/O (cached token or principal in hand,
   * fast consistency); `undefined` otherwise — then call `authorize`. Audited when it answers.
   * `now` (epoch ms) lets a caller that has already read the clock share its reading.
   */
  authorizeNow(
    who: string | Principal | undefined,
    action: string,
    resource: string,
    opts: AuthorizeOptions,
    now?: number,
  ): Authorized | undefined
  /** May this token (or already-authenticated principal) do `action` on `resource` now? Audited. */
  authorize(
    who: string | Principal | undefined,
    action: string,
    resource: string,
    opts: AuthorizeOptions,
  ): Promise<Authorized>
}

const REVOKED: ReadonlySet<DecisionReason> = new Set([
  'subject_revoked',
  'session_revoked',
  'token_revoked',
  'issued_before',
])

/**
 * The one decision path every transport shares: verify the token through the verified-token
 * cache, refuse when this node's policy may be stale, then decide against the live compiled
 * policy. HTTP, sockets and the decision API all call this, so they cannot disagree.
 */
export function createAuthorizer(deps: {
  verifier: Verifier
  live: LivePolicy
  audit: AuditLog
  metrics: Metrics
}): Authorizer {
  const { verifier, live, audit, metrics } = deps

  type Identified = { ok: true; principal: Principal } | Denial

  function refused(verified: Exclude<VerifyResult, { ok: true }>): Denial {
    return verified.code === 'token_expired'
      ? { ok: false, code: 'token_expired', message: 'the access token has expired' }
      : {
          ok: false,
          code: 'token_invalid',
          message: `the access token is invalid (${verified.detail})`,
        }
  }

  /**
   * Who is asking, without a single await when that can be known: a principal already in hand or
   * a token in the verified-token cache, on the fast (local) view. `undefined` means it needs I/O
   * (a full verification, or a strong read of the store's version).
   */
  function identifyNow(who: string | Principal | undefined, opts: AuthorizeOptions, now: number) {
    if (who === undefined || who === '') {
      const denial: Denial = {
        ok: false,
        code: 'token_missing',
        message: 'a Bearer access token is required',
      }
      return denial
    }
    if (opts.consistency === 'strong') return undefined
    if (typeof who !== 'string') return fresh(who, opts, now)
    const verified = verifier.peek(who)
    if (verified === undefined) return undefined
    return verified.ok ? fresh(verified.principal, opts, now) : refused(verified)
  }

  async function identify(
    who: string | Principal | undefined,
    opts: AuthorizeOptions,
  ): Promise<Identified> {
    const known = identifyNow(who, opts, Date.now())
    if (known !== undefined) return known
    let principal: Principal
    if (typeof who === 'string') {
      const verified = await verifier.verify(who)
      if (!verified.ok) return refused(verified)
      principal = verified.principal
    } else principal = who!
    if (opts.consistency === 'strong') {
      try {
        await live.ensureFresh()
      } catch (err) {
        // The store is unreachable, too far ahead or lost state: a strong read cannot be honoured.
        metrics.staleDenial(opts.transport)
        const reset = err instanceof VigilError && err.code === 'store_reset'
        return reset
          ? { ok: false, code: 'store_reset', message: err.message, principal }
          : stale(principal)
      }
    }
    return fresh(principal, opts, Date.now())
  }

  function fresh(principal: Principal, opts: AuthorizeOptions, now: number): Identified {
    if (principal.exp !== undefined && principal.exp * 1000 <= now) {
      return {
        ok: false,
        code: 'token_expired',
        message: 'the access token has expired',
        principal,
      }
    }
    const failure = live.failure()
    if (failure) {
      metrics.staleDenial(opts.transport)
      return { ok: false, code: failure.code, message: failure.message, principal }
    }
    return { ok: true, principal }
  }

  function decideFor(
    identified: Identified,
    action: string,
    resource: string,
    opts: AuthorizeOptions,
    started: number,
    now: number,
  ): Authorized {
    let result: Authorized
    if (!identified.ok) result = identified
    else {
      const { principal } = identified
      const policy = live.current()
      const decision = policy.decide(principal, action, resource)
      if (decision.allow) result = { ok: true, principal, decision }
      else if (REVOKED.has(decision.reason)) {
        const detail = policy.revocation(principal)?.detail ?? decision.reason
        const message = `access was revoked (${detail})`
        result = { ok: false, code: 'revoked', message, principal, decision }
      } else {
        const message = `not allowed to ${action} on ${resource}`
        result = { ok: false, code: 'forbidden', message, principal, decision }
      }
    }
    record(result, action, resource, opts.transport, performance.now() - started, now)
    return result
  }

  return {
    async authenticate(token, opts) {
      const who = await identify(token, opts)
      if (!who.ok) return who
      const policy = live.current()
      const revoked = policy.revocation(who.principal)
      if (revoked) {
        return {
          ok: false,
          code: 'revoked',
          message: `access was revoked (${revoked.detail})`,
          principal: who.principal,
        }
      }
      return { ok: true, principal: who.principal, version: policy.version }
    },

    authorizeNow(who, action, resource, opts, now = Date.now()) {
      const started = performance.now()
      const identified = identifyNow(who, opts, now)
      return identified && decideFor(identified, action, resource, opts, started, now)
    },

    async authorize(who, action, resource, opts) {
      const started = performance.now()
      const identified = identifyNow(who, opts, Date.now()) ?? (await identify(who, opts))
      return decideFor(identified, action, resource, opts, started, Date.now())
    },
  }

  function record(
    result: Authorized,
    action: string,
    resource: string,
    transport: DecisionRecord['transport'],
    durationMs: number,
    time: number,
  ): void {
    const principal = result.principal
    const { decision } = result
    audit.decision({
      transport,
      sub: principal?.sub,
      sid: principal?.sid,
      jti: principal?.jti,
      action,
      resource,
      allow: result.ok,
      reason: decision?.reason ?? (result.ok ? 'allowed' : result.code),
      rule: decision?.rule,
      version: decision?.version ?? live.current().version,
      durationUs: Math.round(durationMs * 10_000) / 10,
      time,
    })
    metrics.decision(transport, result.ok ? 'allow' : result.code, durationMs * 1000)
  }

  function stale(principal: Principal): Denial {
    const message = 'this node cannot confirm the current policy; try again shortly'
    return { ok: false, code: 'policy_stale', message, principal }
  }
}
