import { createHash, timingSafeEqual } from 'node:crypto'
import type { Server, Socket } from 'socket.io'
import { z } from 'zod'
import { EVENTS, SERVICE_NAMESPACE, type ResyncEvent } from '@vigil-enforcer/client/protocol'
import { decideBatch } from '../api/decision-batch.js'
import { DecisionRequest } from '../api/decision-routes.js'
import type { Enforcer } from '../enforcer.js'
import type { PolicyUpdate } from '../live-policy.js'
import { Name, Subject, formatIssues } from '../policy/schema.js'
import { ackError, handshakeError } from './coded-error.js'
import {
  revocationEvents,
  serviceEventsFor,
  type ServiceEvent,
  type Subscription,
} from './service-events.js'

const SubscribeBody = z.strictObject({
  subjects: z.array(Subject).max(10_000).optional(),
  sessions: z.array(Name).max(10_000).optional(),
  all: z.boolean().optional(),
  since: z.number().int().nonnegative().optional(),
})

export interface ServiceFeedOptions {
  /** Updates kept for replay to reconnecting services. @default 4096 */
  historySize?: number
}

const EVENT_NAME = {
  revoked: EVENTS.revoked,
  'step-down': EVENTS.stepDown,
  'step-up': EVENTS.stepUp,
} as const

/**
 * The `/services` namespace: backend services authenticate with the API key, subscribe to the
 * subjects and sessions they serve (or all), and receive `vigil:revoked` / `vigil:step-down` /
 * `vigil:step-up` with the policy version. A service that reconnects with `since` gets every change
 * it missed from this node's update history, in order and none twice — or `vigil:resync` when the
 * history no longer reaches back that far. It also answers `vigil:decide` (single or batch).
 *
 * @example
 * ```ts
 * attachServiceFeed(io, vigil)
 * ```
 */
export function attachServiceFeed(
  io: Server,
  enforcer: Enforcer,
  options: ServiceFeedOptions = {},
): { close(): void } {
  const { live, authorizer, config, logger: root } = enforcer
  const logger = root.child({ module: 'services' })
  const historySize = options.historySize ?? 4096
  const history: PolicyUpdate[] = []
  // Versions above this are covered by `history`; this node knows nothing older.
  let floor = live.current().version
  const subscriptions = new Map<Socket, Subscription>()
  const expected = createHash('sha256').update(config.apiKey).digest()

  const nsp = io.of(SERVICE_NAMESPACE)
  nsp.use((socket, next) => {
    const key: unknown = socket.handshake.auth?.['apiKey']
    const presented = createHash('sha256')
      .update(typeof key === 'string' ? key : '')
      .digest()
    if (typeof key !== 'string' || !timingSafeEqual(presented, expected)) {
      return next(handshakeError('unauthorized', 'a valid API key is required in auth.apiKey'))
    }
    next()
  })

  nsp.on('connection', (socket) => {
    socket.on(EVENTS.subscribe, async (payload: unknown, ack?: unknown) => {
      const reply = typeof ack === 'function' ? (ack as (b: unknown) => void) : () => {}
      const parsed = SubscribeBody.safeParse(payload)
      if (!parsed.success) {
        const first = formatIssues(parsed.error)[0]!
        return reply(ackError('invalid_payload', `${first.path}: ${first.message}`))
      }
      const { subjects = [], sessions = [], all = false, since } = parsed.data
      const sub: Subscription = { subjects: new Set(subjects), sessions: new Set(sessions), all }
      const after = Math.max(since ?? -1, subscriptions.get(socket)?.after ?? -1)
      if (after >= 0) sub.after = after
      // Older than this node's history: the missed part comes from the store's change log. Live
      // updates meanwhile land in `history` and are replayed below, so none is lost or doubled.
      let fromLog: ServiceEvent[] = []
      let partial = false
      const readFrom = floor
      if (since !== undefined && since < readFrom) {
        subscriptions.delete(socket)
        const entries = await enforcer.store.readLog(since, readFrom).catch(() => null)
        if (!entries || floor !== readFrom) partial = true
        for (const e of entries ?? []) {
          if (e.change.type === 'revoke') {
            fromLog.push(...revocationEvents(e.change, e.version, e.at, sub))
          } else if (e.change.type !== 'keys.rotated' && e.change.type !== 'revoke.prune') {
            // A prune drops only revocations no token can use: nothing a service must re-check.
            partial = true
          }
        }
        if (!entries) fromLog = []
      }
      subscriptions.set(socket, sub)
      const version = live.current().version
      reply({ ok: true, data: { version } })
      if (since === undefined || since >= version) return
      send(socket, fromLog)
      for (const update of history) {
        if (update.after.version > since) send(socket, serviceEventsFor(update, sub))
      }
      // Revocations replay exactly from the log; what other changes did to permissions needs the
      // policy as it was then, which this node never held — the service should re-check.
      if (partial) {
        const resync: ResyncEvent = { version, reason: 'history_unavailable' }
        socket.emit(EVENTS.resync, resync)
      }
    })

    socket.on(EVENTS.decide, async (payload: unknown, ack?: unknown) => {
      const reply = typeof ack === 'function' ? (ack as (b: unknown) => void) : () => {}
      const parsed = DecisionRequest.safeParse(payload)
      if (!parsed.success) {
        const first = formatIssues(parsed.error)[0]!
        return reply(ackError('invalid_payload', `${first.path}: ${first.message}`))
      }
      const version = live.current().version
      const queries = Array.isArray(parsed.data) ? parsed.data : [parsed.data]
      // The same batch runner as POST /v1/decisions: yields as it goes, within the same budget.
      const batch = await decideBatch(authorizer, queries, 'service', version, {
        budgetMs: enforcer.config.decisionBudgetMs,
      })
      if (!batch.ok) {
        const refused = ackError(batch.code, batch.message)
        const details = { answered: batch.answers.length, answers: batch.answers }
        return reply({ error: { ...refused.error, details } })
      }
      const { answers } = batch
      reply({ ok: true, data: Array.isArray(parsed.data) ? answers : answers[0] })
    })

    socket.on('disconnect', () => subscriptions.delete(socket))
  })

  function send(socket: Socket, events: ServiceEvent[]): void {
    for (const e of events) socket.emit(EVENT_NAME[e.kind], e.event)
  }

  function onUpdate(update: PolicyUpdate): void {
    history.push(update)
    if (history.length > historySize) floor = history.shift()!.after.version
    for (const [socket, sub] of subscriptions) {
      if (sub.after !== undefined && update.after.version <= sub.after) continue
      if (!update.entry) {
        const resync: ResyncEvent = { version: update.after.version, reason: 'policy_replaced' }
        socket.emit(EVENTS.resync, resync)
      }
      send(socket, serviceEventsFor(update, sub))
    }
    if (subscriptions.size > 0) logger.debug({ version: update.after.version }, 'service feed')
  }
  live.on('update', onUpdate)

  return {
    close() {
      live.off('update', onUpdate)
    },
  }
}
