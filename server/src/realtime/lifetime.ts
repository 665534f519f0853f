import type { Socket } from 'socket.io'
import { EVENTS, type ExpiredEvent, type ExpiringEvent } from '@vigil/client/protocol'

/**
 * The access token's lifetime on a live socket: `vigil:expiring` ahead of `exp` so the client
 * refreshes in place, and — if it does not — `vigil:expired` then disconnect after a short grace,
 * which a client can tell apart from a revocation.
 */
export function createLifetime(socket: Socket, options: { leadS: number; graceS: number }) {
  let expiring: NodeJS.Timeout | undefined
  let expired: NodeJS.Timeout | undefined
  const clear = (): void => {
    clearTimeout(expiring)
    clearTimeout(expired)
  }
  return {
    /** (Re)arms the timers for a token valid from `iat` until `exp` (epoch seconds). */
    schedule(iat: number | undefined, exp: number | undefined): void {
      clear()
      if (exp === undefined) return
      const now = Date.now()
      const lifetime = iat === undefined ? options.leadS * 2 : exp - iat
      const lead = Math.min(options.leadS, lifetime / 2)
      const payload: ExpiringEvent = { exp }
      expiring = setTimeout(
        () => socket.emit(EVENTS.expiring, payload),
        exp * 1000 - lead * 1000 - now,
      )
      expired = setTimeout(
        () => {
          const event: ExpiredEvent = { code: 'token_expired', exp }
          socket.emit(EVENTS.expired, event)
          socket.disconnect(true)
        },
        (exp + options.graceS) * 1000 - now,
      )
      expiring.unref()
      expired.unref()
    },
    clear,
  }
}
