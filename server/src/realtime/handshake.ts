import type { Socket } from 'socket.io'
import type { AuditLog } from '../audit/audit-log.js'
import type { Authorizer } from '../authorize.js'
import type { Principal } from '../policy/principal.js'
import { handshakeError } from './coded-error.js'
import type { RateLimiter } from './rate-limit.js'

const ACTION = 'vigil:connect'

/** What the handshake leaves on `socket.data` for the rest of the realtime layer. */
export interface VigilSocketData {
  /** `limiter`: the socket's share of its session's message budget (see `admit`). */
  vigil?: { principal: Principal; version: number; limiter?: RateLimiter }
}

/**
 * `io.use` middleware: refuses sockets from origins outside the allow-list (cross-site WebSocket
 * hijacking) and sockets without a valid, unrevoked access token in `auth.token`. The query
 * string is never read: it ends up in access logs.
 *
 * @example
 * ```ts
 * io.use(createHandshake({ authorizer, audit, allowedOrigins: ['https://app.example'] }))
 * ```
 */
export function createHandshake(deps: {
  authorizer: Authorizer
  audit: AuditLog
  allowedOrigins: string[]
  /** The policy version this node decides with, for the audit line. */
  version: () => number
  /**
   * Counts the socket against its session's cap, last, and gives its rate limiter; undefined
   * refuses it with `too_many_sockets`. Synchronous, so racing handshakes are counted one by one.
   */
  admit?: (socket: Socket, principal: Principal) => RateLimiter | undefined
}) {
  deps.audit.keepActions([ACTION])
  const anyOrigin = deps.allowedOrigins.includes('*')
  const origins = new Set(deps.allowedOrigins)
  return async function vigilHandshake(socket: Socket, next: (err?: Error) => void) {
    const started = process.hrtime.bigint()
    const origin = socket.handshake.headers.origin
    // Browsers always send Origin on WebSocket and CORS requests; services may send none.
    if (origin !== undefined && !anyOrigin && !origins.has(origin)) {
      audit('origin_forbidden')
      return next(handshakeError('origin_forbidden', 'this origin may not connect'))
    }
    const token: unknown = socket.handshake.auth?.['token']
    if (token !== undefined && typeof token !== 'string') {
      audit('token_invalid')
      return next(handshakeError('token_invalid', 'auth.token must be a string'))
    }
    const result = await deps.authorizer.authenticate(token, { transport: 'socket' })
    if (!result.ok) {
      audit(result.code, result.principal)
      return next(handshakeError(result.code, result.message))
    }
    const limiter = deps.admit?.(socket, result.principal)
    if (deps.admit && !limiter) {
      audit('too_many_sockets', result.principal)
      return next(handshakeError('too_many_sockets', 'this session holds too many live sockets'))
    }
    ;(socket.data as VigilSocketData).vigil = {
      principal: result.principal,
      version: result.version,
      ...(limiter ? { limiter } : {}),
    }
    audit('connected', result.principal, true)
    next()

    function audit(reason: string, p?: Principal, allow = false): void {
      deps.audit.decision({
        transport: 'socket',
        sub: p?.sub,
        sid: p?.sid,
        jti: p?.jti,
        action: ACTION,
        resource: 'socket',
        allow,
        reason,
        version: deps.version(),
        durationUs: Number(process.hrtime.bigint() - started) / 1000,
      })
    }
  }
}
