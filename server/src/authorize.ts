import type { ErrorCode } from '@vigil/client/protocol'
import type { AuditLog, DecisionRecord } from './audit/audit-log.js'
import type { LivePolicy } from './live-policy.js'
import type { Metrics } from './metrics.js'
import type { Decision, DecisionReason } from './policy/index.js'
import type { Principal } from './policy/principal.js'
import type { Verifier } from './tokens/index.js'

export type DenialCode = Extract<
  ErrorCode,
  'token_missing' | 'token_invalid' | 'token_expired' | 'revoked' | 'forbidden' | 'policy_stale'
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

  async function identify(
    who: string | Principal | undefined,
    opts: AuthorizeOptions,
  ): Promise<{ ok: true; principal: Principal } | Denial> {
    if (who === undefined || who === '') {
      return { ok: false, code: 'token_missing', message: 'a Bearer access token is required' }
    }
    if (typeof who !== 'string') return freshness(who, opts)
    const verified = await verifier.verify(who)
    if (!verified.ok) {
      return verified.code === 'token_expired'
        ? { ok: false, code: 'token_expired', message: 'the access token has expired' }
        : {
            ok: false,
            code: 'token_invalid',
            message: `the access token is invalid (${verified.detail})`,
          }
    }
    return freshness(verified.principal, opts)
  }

  async function freshness(
    principal: Principal,
    opts: AuthorizeOptions,
  ): Promise<{ ok: true; principal: Principal } | Denial> {
    if (principal.exp !== undefined && principal.exp * 1000 <= Date.now()) {
      return {
        ok: false,
        code: 'token_expired',
        message: 'the access token has expired',
        principal,
      }
    }
    try {
      if (opts.consistency === 'strong') await live.ensureFresh()
    } catch {
      // The store is unreachable or too far ahead: we cannot honour a strong read.
      metrics.staleDenial(opts.transport)
      return stale(principal)
    }
    if (live.isStale()) {
      metrics.staleDenial(opts.transport)
      return stale(principal)
    }
    return { ok: true, principal }
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

    async authorize(who, action, resource, opts) {
      const started = process.hrtime.bigint()
      const identified = await identify(who, opts)
      let result: Authorized
      if (!identified.ok) {
        result = identified
      } else {
        const { principal } = identified
        const decision = live.current().decide(principal, action, resource)
        if (decision.allow) result = { ok: true, principal, decision }
        else if (REVOKED.has(decision.reason)) {
          const detail = live.current().revocation(principal)?.detail ?? decision.reason
          result = {
            ok: false,
            code: 'revoked',
            message: `access was revoked (${detail})`,
            principal,
            decision,
          }
        } else {
          result = {
            ok: false,
            code: 'forbidden',
            message: `not allowed to ${action} on ${resource}`,
            principal,
            decision,
          }
        }
      }
      const durationUs = Number(process.hrtime.bigint() - started) / 1000
      record(result, action, resource, opts.transport, durationUs)
      return result
    },
  }

  function record(
    result: Authorized,
    action: string,
    resource: string,
    transport: DecisionRecord['transport'],
    durationUs: number,
  ): void {
    const principal = result.principal
    const decision = result.ok ? result.decision : result.decision
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
      durationUs: Math.round(durationUs * 10) / 10,
    })
    metrics.decision(transport, result.ok ? 'allow' : result.code, durationUs)
  }

  function stale(principal: Principal): Denial {
    const message = 'this node cannot confirm the current policy; try again shortly'
    return { ok: false, code: 'policy_stale', message, principal }
  }
}
