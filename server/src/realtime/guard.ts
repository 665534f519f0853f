import type { Socket } from 'socket.io'
import { EVENTS, type ErrorCode } from '@vigil/client/protocol'
import type { AuditLog } from '../audit/audit-log.js'
import type { Authorized, Authorizer } from '../authorize.js'
import { formatIssues } from '../policy/schema.js'
import type { LiveEntry } from '../sessions/registry.js'
import { ackError } from './coded-error.js'
import type { EventRules } from './options.js'
import type { RateLimiter } from './rate-limit.js'

export interface GuardDeps {
  authorizer: Authorizer
  audit: AuditLog
  rules: EventRules
  version: () => number
  /** Called when a message finds the session revoked or its token expired: close the socket. */
  onTerminal: (code: 'revoked' | 'token_expired', reason: string) => void
  onFlood: () => void
}

type Packet = [string, ...unknown[]]

/**
 * `socket.use` middleware: every incoming event is rate limited, matched to its rule, its payload
 * validated, and decided against the live policy before any handler sees it. A refused event
 * never reaches the app; its ack (if any) gets `{ error: { code, message } }`. Decisions run in
 * arrival order, so a slow (strong) decision cannot let a later message overtake an earlier one.
 */
export function createMessageGuard(deps: GuardDeps, entry: LiveEntry, limiter: RateLimiter) {
  let queue: Promise<void> = Promise.resolve()
  let pending = 0
  return function vigilGuard(packet: Packet, next: (err?: Error) => void): void {
    const [event, ...args] = packet
    const last = args.at(-1)
    const ack = typeof last === 'function' ? (last as (body: unknown) => void) : undefined
    const refuse = (code: ErrorCode, message: string): void => ack?.(ackError(code, message))

    if (!limiter.take()) {
      refuse('rate_limited', 'too many messages; slow down')
      if (limiter.flooding) deps.onFlood()
      return
    }
    // The refresh event carries its own proof (a new token) and is verified by its handler.
    if (event === EVENTS.refresh) return next()

    const rule = Object.hasOwn(deps.rules, event) ? deps.rules[event] : undefined
    if (!rule) {
      audit(event, 'unmapped_event')
      return refuse('forbidden', `the event "${String(event).slice(0, 100)}" is not allowed`)
    }
    let payload = args[0]
    if (rule.schema) {
      const parsed = rule.schema.safeParse(payload)
      if (!parsed.success) {
        const first = formatIssues(parsed.error)[0]!
        audit(rule.action, 'invalid_payload')
        return refuse('invalid_payload', `${first.path}: ${first.message}`)
      }
      payload = parsed.data
      packet[1] = payload
    }
    let resource: string
    try {
      resource = typeof rule.resource === 'string' ? rule.resource : rule.resource(payload)
    } catch {
      audit(rule.action, 'invalid_payload')
      return refuse('invalid_payload', 'the resource of this message could not be determined')
    }
    const opts = { transport: 'socket', consistency: rule.consistency ?? 'fast' } as const
    const finish = (result: Authorized): void => {
      entry.lastDecisionAt = Date.now()
      if (result.ok) return next()
      refuse(result.code, result.message)
      if (result.code === 'revoked' || result.code === 'token_expired') {
        deps.onTerminal(result.code, result.message)
      }
    }
    // With nothing queued, a fast decision runs synchronously; otherwise it waits its turn so a
    // slow (strong) decision cannot let a later message overtake an earlier one.
    if (pending === 0) {
      const now = deps.authorizer.authorizeNow(entry.principal, rule.action, resource, opts)
      if (now) return finish(now)
    }
    pending += 1
    const decide = async (): Promise<void> => {
      try {
        finish(await deps.authorizer.authorize(entry.principal, rule.action, resource, opts))
      } finally {
        pending -= 1
      }
    }
    queue = queue.then(decide, decide)
  }

  function audit(action: string, reason: string): void {
    deps.audit.decision({
      transport: 'socket',
      sub: entry.principal.sub,
      sid: entry.principal.sid,
      jti: entry.principal.jti,
      action,
      resource: '',
      allow: false,
      reason,
      version: deps.version(),
      durationUs: 0,
    })
  }
}

export type MessageGuard = ReturnType<typeof createMessageGuard>
export type { Socket }
