import type { Socket } from 'socket.io'
import type { RefreshAck } from '@vigil-enforcer/client/protocol'
import type { AuditLog } from '../audit/audit-log.js'
import type { Authorizer } from '../authorize.js'
import type { Principal } from '../policy/principal.js'
import type { LivePolicy } from '../live-policy.js'
import type { SessionRegistry } from '../sessions/registry.js'
import { ackError } from './coded-error.js'
import type { Lifetimes } from './lifetime.js'

const ignore = (): void => {}

/** The audit action of a refresh attempt; its resource is the socket, as for `vigil:connect`. */
const ACTION = 'vigil:refresh'

/**
 * `vigil:refresh {token}` with ack: swaps a live socket's access token in place, so a session
 * outlives many short token lifetimes without reconnecting. The new token must belong to the
 * same subject and session — a socket cannot be handed to someone else. Every attempt is audited
 * (one line: `refreshed`, the refusal's code, or `session_mismatch` for a swap to someone else's
 * token), so a socket being handed around shows up in the log.
 *
 * One listener serves every socket: socket.io calls it with `this` set to the socket, whose
 * entry is looked up in the registry.
 *
 * @example
 * ```ts
 * const onRefresh = createRefreshHandler({ authorizer, audit, live, registry, lifetimes, version })
 * io.on('connection', (socket) => socket.on('vigil:refresh', onRefresh))
 * ```
 */
export function createRefreshHandler(deps: {
  authorizer: Authorizer
  audit: AuditLog
  live: LivePolicy
  registry: SessionRegistry
  lifetimes: Lifetimes
  version: () => number
}) {
  deps.audit.keepActions([ACTION])
  return async function vigilRefresh(this: Socket, payload: unknown, ack?: unknown): Promise<void> {
    const reply = typeof ack === 'function' ? (ack as (body: RefreshAck) => void) : ignore
    const entry = deps.registry.get(this.id)
    // Only while the socket is registered: after its disconnect nobody is listening.
    if (!entry) return
    const started = process.hrtime.bigint()
    const audit = (p: Principal, allow: boolean, reason: string): void => {
      deps.audit.decision({
        transport: 'socket',
        sub: p.sub,
        sid: p.sid,
        jti: p.jti,
        action: ACTION,
        resource: 'socket',
        allow,
        reason,
        version: deps.version(),
        durationUs: Number(process.hrtime.bigint() - started) / 1000,
      })
    }
    const token = (payload as { token?: unknown } | null)?.token
    if (typeof token !== 'string' || token === '') {
      audit(entry.principal, false, 'invalid_payload')
      return reply(ackError('invalid_payload', 'token: a token string is required'))
    }
    const result = await deps.authorizer.authenticate(token, { transport: 'socket' })
    // Read after the await: a refresh that finished meanwhile swapped the entry's principal.
    const { principal } = entry
    if (!result.ok) {
      audit(principal, false, result.code)
      return reply(ackError(result.code, result.message))
    }
    const next = result.principal
    if (next.sub !== principal.sub || next.sid !== principal.sid) {
      // Named after the socket's own principal: the presented token is someone else's.
      audit(principal, false, 'session_mismatch')
      return reply(ackError('forbidden', 'the token belongs to another subject or session'))
    }
    const policy = deps.live.current()
    deps.registry.update(entry.id, {
      principal: next,
      keys: policy.keysOf(next),
      roles: policy.rolesOf(next),
    })
    // The socket may have left while the token was being verified.
    if (deps.registry.get(entry.id) === entry) deps.lifetimes.schedule(entry.id, next.iat, next.exp)
    audit(next, true, 'refreshed')
    reply({ ok: true, data: { exp: next.exp ?? 0, version: deps.version() } })
  }
}
