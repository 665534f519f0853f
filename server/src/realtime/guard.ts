import type { Socket } from 'socket.io'
import { EVENTS, type ErrorCode } from '@vigil-enforcer/client/protocol'
import type { AuditLog } from '../audit/audit-log.js'
import type { AuthorizeOptions, Authorized, Authorizer } from '../authorize.js'
import { formatIssues } from '../policy/schema.js'
import type { LiveEntry } from '../sessions/registry.js'
import { ackError } from './coded-error.js'
import { MAX_EVENT_NAME_LENGTH, auditedName } from './event-name.js'
import type { EventRule, EventRules } from './options.js'
import type { RateLimiter } from './rate-limit.js'

export interface GuardDeps {
  authorizer: Authorizer
  audit: AuditLog
  rules: EventRules
  version: () => number
  /** Called when a message finds the session revoked or its token expired: close the socket. */
  onTerminal: (socket: Socket, code: 'revoked' | 'token_expired', reason: string) => void
  onFlood: (socket: Socket, entry: LiveEntry) => void
}

type Packet = [string, ...unknown[]]
type Next = (err?: Error) => void
type Ack = (body: unknown) => void

const FAST: AuthorizeOptions = { transport: 'socket', consistency: 'fast' }
const STRONG: AuthorizeOptions = { transport: 'socket', consistency: 'strong' }
const SETTLED: Promise<void> = Promise.resolve()

function refuse(ack: Ack | undefined, code: ErrorCode, message: string): void {
  ack?.(ackError(code, message))
}

/**
 * `socket.use` middleware: every incoming event is rate limited, matched to its rule, its payload
 * validated, and decided against the live policy before any handler sees it. A refused event
 * never reaches the app; its ack (if any) gets `{ error: { code, message } }`. Decisions run in
 * arrival order, so a slow (strong) decision cannot let a later message overtake an earlier one.
 *
 * Created once; `guard(socket, entry, limiter)` then gives one socket's middleware.
 *
 * @example
 * ```ts
 * const guard = createMessageGuard({ authorizer, audit, rules, version, onTerminal, onFlood })
 * io.on('connection', (socket) => socket.use(guard(socket, entry, socket.data.vigil.limiter)))
 * ```
 */
export function createMessageGuard(deps: GuardDeps) {
  // A Map: one lookup per message, and no prototype to guard against (`__proto__`, `toString`).
  const rules: RuleMap = new Map(Object.entries(deps.rules))
  for (const name of rules.keys()) {
    if (name.length > MAX_EVENT_NAME_LENGTH) {
      throw new TypeError(`event rule names are at most ${MAX_EVENT_NAME_LENGTH} characters`)
    }
  }
  // The audit encoder keeps fragments for these actions only, never for names clients invent.
  deps.audit.keepActions([...rules.values()].map((rule) => rule.action))
  return function guard(socket: Socket, entry: LiveEntry, limiter: RateLimiter) {
    const state = new SocketGuard(deps, rules, socket, entry, limiter)
    return state.vigilGuard.bind(state)
  }
}

type RuleMap = ReadonlyMap<string, EventRule>

/**
 * One socket's guard. A class, so that the per-message body is one shared method and a socket
 * costs one small object and one bound function: closures made per message or per socket cost
 * far more under tsx, which gives each named closure its own `name` property.
 */
class SocketGuard {
  /** The last decision that had to wait for I/O; later messages queue behind it. */
  queue = SETTLED
  /** Decisions queued and not yet settled. */
  pending = 0

  constructor(
    readonly deps: GuardDeps,
    readonly rules: RuleMap,
    readonly socket: Socket,
    readonly entry: LiveEntry,
    readonly limiter: RateLimiter,
  ) {}

  vigilGuard(packet: Packet, next: Next): void {
    const { deps, entry, limiter } = this
    const last: unknown = packet[packet.length - 1]
    const ack = typeof last === 'function' ? (last as Ack) : undefined
    // `421` (an ack id and no data at all) reaches us as the ack alone: no event name.
    const event: unknown = ack && packet.length === 1 ? undefined : packet[0]
    // One clock reading serves the rate limit, the token's expiry and the audit line.
    const now = Date.now()

    if (!limiter.take(now)) {
      refuse(ack, 'rate_limited', 'too many messages; slow down')
      if (limiter.flooding) deps.onFlood(this.socket, entry)
      return
    }
    // socket.io's parser also lets numbers through as event names.
    if (typeof event !== 'string' || event.length > MAX_EVENT_NAME_LENGTH) {
      const name = typeof event === 'string' ? event : String(event)
      this.audit(auditedName(name), 'event_name_too_long')
      const must = `an event name is a string of at most ${MAX_EVENT_NAME_LENGTH} characters`
      return refuse(ack, 'invalid_payload', must)
    }
    // Handlers get exactly (payload, ack?): a stray argument would land where the handler
    // expects its ack, and calling it throws in socket.io's nextTick (issue #13, item 1).
    if (packet.length - (ack ? 1 : 0) > 2) {
      this.audit(this.rules.get(event)?.action ?? auditedName(event), 'invalid_payload')
      return refuse(ack, 'invalid_payload', 'a message carries one payload argument at most')
    }
    if (ack && packet.length === 2) packet.splice(1, 0, undefined)
    // The refresh event carries its own proof (a new token) and is verified by its handler.
    if (event === EVENTS.refresh) return next()

    const rule = this.rules.get(event)
    if (!rule) {
      this.audit(auditedName(event), 'unmapped_event')
      return refuse(ack, 'forbidden', `the event "${auditedName(event)}" is not allowed`)
    }
    let payload = packet[1]
    if (rule.schema) {
      const parsed = rule.schema.safeParse(payload)
      if (!parsed.success) {
        const first = formatIssues(parsed.error)[0]!
        this.audit(rule.action, 'invalid_payload')
        return refuse(ack, 'invalid_payload', `${first.path}: ${first.message}`)
      }
      payload = parsed.data
      packet[1] = payload
    }
    let resource: string
    try {
      resource = typeof rule.resource === 'string' ? rule.resource : rule.resource(payload)
    } catch {
      this.audit(rule.action, 'invalid_payload')
      return refuse(ack, 'invalid_payload', 'the resource of this message could not be determined')
    }
    const { action } = rule
    const opts = rule.consistency === 'strong' ? STRONG : FAST
    // With nothing queued, a fast decision runs synchronously; otherwise it waits its turn so a
    // slow (strong) decision cannot let a later message overtake an earlier one.
    if (this.pending === 0) {
      const result = deps.authorizer.authorizeNow(entry.principal, action, resource, opts, now)
      if (result) return this.settle(ack, next, result, now)
    }
    this.pending += 1
    const decide = async (): Promise<void> => {
      try {
        const result = await deps.authorizer.authorize(entry.principal, action, resource, opts)
        this.settle(ack, next, result, Date.now())
      } finally {
        this.pending -= 1
      }
    }
    this.queue = this.queue.then(decide, decide)
  }

  settle(ack: Ack | undefined, next: Next, result: Authorized, now: number): void {
    this.entry.lastDecisionAt = now
    if (result.ok) return next()
    refuse(ack, result.code, result.message)
    if (result.code === 'revoked' || result.code === 'token_expired') {
      this.deps.onTerminal(this.socket, result.code, result.message)
    }
  }

  /** A refusal made before any decision (unmapped event, bad payload) is audited too. */
  audit(action: string, reason: string): void {
    const { principal } = this.entry
    this.deps.audit.decision({
      transport: 'socket',
      sub: principal.sub,
      sid: principal.sid,
      jti: principal.jti,
      action,
      resource: '',
      allow: false,
      reason,
      version: this.deps.version(),
      durationUs: 0,
    })
  }
}

export type MessageGuard = ReturnType<ReturnType<typeof createMessageGuard>>
export type { Socket }
