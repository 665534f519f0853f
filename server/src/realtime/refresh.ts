import type { RefreshAck } from '@vigil/client/protocol'
import type { Authorizer } from '../authorize.js'
import type { LivePolicy } from '../live-policy.js'
import type { LiveEntry, SessionRegistry } from '../sessions/registry.js'
import { ackError } from './coded-error.js'
import type { createLifetime } from './lifetime.js'

/**
 * `vigil:refresh {token}` with ack: swaps a live socket's access token in place, so a session
 * outlives many short token lifetimes without reconnecting. The new token must belong to the
 * same subject and session — a socket cannot be handed to someone else.
 */
export function createRefreshHandler(deps: {
  authorizer: Authorizer
  live: LivePolicy
  registry: SessionRegistry
  entry: LiveEntry
  lifetime: ReturnType<typeof createLifetime>
  version: () => number
}) {
  return async function vigilRefresh(payload: unknown, ack?: unknown): Promise<void> {
    const reply = typeof ack === 'function' ? (ack as (body: RefreshAck) => void) : () => {}
    const token = (payload as { token?: unknown } | null)?.token
    if (typeof token !== 'string' || token === '') {
      return reply(ackError('invalid_payload', 'token: a token string is required'))
    }
    const result = await deps.authorizer.authenticate(token, { transport: 'socket' })
    if (!result.ok) return reply(ackError(result.code, result.message))
    const next = result.principal
    const { principal } = deps.entry
    if (next.sub !== principal.sub || next.sid !== principal.sid) {
      return reply(ackError('forbidden', 'the token belongs to another subject or session'))
    }
    const policy = deps.live.current()
    deps.registry.update(deps.entry.id, {
      principal: next,
      keys: policy.keysOf(next),
      roles: policy.rolesOf(next),
    })
    deps.lifetime.schedule(next.iat, next.exp)
    reply({ ok: true, data: { exp: next.exp ?? 0, version: deps.version() } })
  }
}
