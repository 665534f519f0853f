/**
 * The revocation feed of the service client: the `/services` socket, the subscription it
 * holds, resuming after a reconnect from the last version delivered, and decisions over the
 * socket's acknowledgements.
 *
 * @module
 * @internal
 */
import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client'
import {
  EVENTS,
  SERVICE_NAMESPACE,
  VigilError,
  isErrorCode,
  type DecisionQuery,
  type ResyncEvent,
  type ServiceRevokedEvent,
  type ServiceStepEvent,
  type SubscribePayload,
} from './protocol.js'
import { ackData, type DecisionAnswer } from './service-decide.js'
import type { ServiceEmitter } from './service-events.js'
import { createDeliveryLedger } from './service-ledger.js'
import {
  checkTargets,
  createWatchSet,
  samePayload,
  targetKey,
  type WatchTargets,
} from './service-watch.js'

export interface ServiceFeedOptions {
  /** The enforcer's base URL, without a trailing slash. */
  baseUrl: string
  apiKey: string
  since: number | undefined
  timeoutMs: number
  socket: Partial<ManagerOptions & SocketOptions> | undefined
  emitter: ServiceEmitter
  debug: (message: string, details?: Record<string, unknown>) => void
  /** Where problems go: the `error` event, or `debug` when nobody listens. */
  report: (err: VigilError) => void
}

export interface ServiceFeed {
  /** Opens the socket (once); it then reconnects by itself until `close`. */
  open(): void
  watch(targets: WatchTargets): Promise<{ version: number }>
  unwatch(targets: WatchTargets): void
  /**
   * Decides over the socket when it is connected, else returns undefined. Rejects with a
   * `VigilError` when the enforcer refused, with another error when the socket failed.
   */
  decide(body: DecisionQuery | DecisionQuery[]): Promise<unknown> | undefined
  readonly lastVersion: number | undefined
  readonly connected: boolean
  readonly socket: Socket | undefined
  close(): void
}

interface Waiter {
  resolve(value: { version: number }): void
  reject(err: VigilError): void
}

/** One socket.io connection: acknowledgements on it vouch only for events sent on it. */
interface Connection {
  subscribed: boolean
  announced: boolean
}

/**
 * The feed behind `createServiceClient`.
 *
 * @internal
 * @example
 * ```ts
 * const feed = createServiceFeed({ baseUrl, apiKey, since: undefined, timeoutMs, socket: undefined, emitter, debug, report })
 * feed.open()
 * await feed.watch({ subjects: ['alice'] })
 * ```
 */
export function createServiceFeed(options: ServiceFeedOptions): ServiceFeed {
  const { baseUrl, timeoutMs, emitter, debug, report } = options
  const ledger = createDeliveryLedger(options.since)
  const watched = createWatchSet()
  // The last subscription the enforcer acknowledged: what a resume must replay for.
  let acked: SubscribePayload | null = null
  let socket: Socket | undefined
  let conn: Connection | null = null
  let waiters: Waiter[] = []
  let flushQueued = false
  let reconnectTimer: ReturnType<typeof setTimeout> | undefined
  let closed = false

  const closedError = (): VigilError => new VigilError('closed', 'the service client was closed')

  function open(): void {
    if (socket || closed) return
    const s = io(baseUrl + SERVICE_NAMESPACE, {
      // Node services talk to one node directly: no long-polling, no sticky sessions needed.
      transports: ['websocket'],
      forceNew: true,
      reconnectionDelayMax: 5000,
      ...options.socket,
      auth: { apiKey: options.apiKey },
    })
    s.on('connect', onConnect)
    s.on('disconnect', onDisconnect)
    s.on('connect_error', onConnectError)
    s.on(EVENTS.revoked, (e: ServiceRevokedEvent) => deliver('revoked', e))
    s.on(EVENTS.stepDown, (e: ServiceStepEvent) => deliver('step-down', e))
    s.on(EVENTS.stepUp, (e: ServiceStepEvent) => deliver('step-up', e))
    s.on(EVENTS.resync, onResync)
    socket = s
  }

  function onConnect(): void {
    const c: Connection = { subscribed: false, announced: false }
    conn = c
    const current = watched.payload()
    const since = ledger.lastVersion
    if (since === undefined) return subscribe(c, current, undefined, true)
    // Replay only what was subscribed before; targets added while away start from now.
    const resumed = acked ?? current
    const same = samePayload(resumed, current)
    subscribe(c, resumed, since, same)
    if (!same) subscribe(c, current, undefined, true)
  }

  function subscribe(
    c: Connection,
    payload: SubscribePayload,
    since: number | undefined,
    final: boolean,
  ): void {
    const mine = final ? waiters.splice(0) : []
    c.subscribed = true
    const body = since === undefined ? payload : { ...payload, since }
    socket!.timeout(timeoutMs).emit(EVENTS.subscribe, body, (err: Error | null, reply: unknown) => {
      if (closed) return mine.forEach((w) => w.reject(closedError()))
      // The connection dropped first: the next one subscribes for these callers.
      if (conn !== c) return void waiters.push(...mine)
      if (err) {
        debug('subscription not acknowledged in time; asking again')
        waiters.push(...mine)
        return subscribe(c, payload, since, final)
      }
      let version: number
      try {
        version = ackData<{ version: number }>(reply).version
      } catch (refused) {
        for (const w of mine) w.reject(refused as VigilError)
        return report(refused as VigilError)
      }
      acked = payload
      // Without `since` nothing is replayed after this ack: the feed is complete up to it.
      if (since === undefined) ledger.confirm(version)
      for (const w of mine) w.resolve({ version })
      if (final && !c.announced) {
        c.announced = true
        emitter.emit('connect', since === undefined ? { version } : { version, since })
      }
    })
  }

  function flushSoon(): void {
    if (flushQueued) return
    flushQueued = true
    // Many watch() calls in one tick become one subscription message.
    queueMicrotask(() => {
      flushQueued = false
      if (conn && !closed) subscribe(conn, watched.payload(), undefined, true)
    })
  }

  function deliver(
    kind: 'revoked' | 'step-down' | 'step-up',
    event: ServiceRevokedEvent | ServiceStepEvent,
  ): void {
    if (!ledger.admit(event.version, targetKey(kind, event))) {
      return debug('dropped an event already delivered', { kind, version: event.version })
    }
    if (!watched.matches(event)) return
    if (kind === 'revoked') emitter.emit('revoked', event as ServiceRevokedEvent)
    else emitter.emit(kind, event as ServiceStepEvent)
  }

  function onResync(event: ResyncEvent): void {
    // History did not reach back: nothing older will come, the service re-checks instead.
    if (event.reason === 'history_unavailable') ledger.confirm(event.version)
    emitter.emit('resync', event)
  }

  function onDisconnect(reason: string): void {
    conn = null
    emitter.emit('disconnect', { reason })
    // socket.io does not reconnect after a server-side disconnect (a draining node); we do.
    if (reason === 'io server disconnect' && !closed) {
      reconnectTimer = setTimeout(() => {
        reconnectTimer = undefined
        if (!closed) socket?.connect()
      }, socket?.io.reconnectionDelay() ?? 1000)
    }
  }

  function onConnectError(err: Error & { data?: { code?: unknown } }): void {
    if (socket?.active) return debug('feed connection failed; retrying', { message: err.message })
    // Refused by the enforcer itself (a wrong API key): retrying cannot help.
    const code = isErrorCode(err.data?.code) ? err.data.code : 'internal'
    const refused = new VigilError(code, `the service feed refused the connection: ${err.message}`)
    for (const w of waiters.splice(0)) w.reject(refused)
    report(refused)
  }

  async function decideOverSocket(
    s: Socket,
    c: Connection,
    body: DecisionQuery | DecisionQuery[],
  ): Promise<unknown> {
    const vouches = c.subscribed
    const data = ackData<DecisionAnswer | DecisionAnswer[]>(
      await s.timeout(timeoutMs).emitWithAck(EVENTS.decide, body),
    )
    // Sent after the subscription on this connection: every event up to it came before.
    if (vouches && conn === c) ledger.confirm(oldest(data))
    return data
  }

  return {
    open,
    watch(targets) {
      if (closed) return Promise.reject(closedError())
      checkTargets(targets, 'watch')
      watched.add(targets)
      const subscribed = new Promise<{ version: number }>((resolve, reject) => {
        waiters.push({ resolve, reject })
      })
      open()
      flushSoon()
      return subscribed
    },
    unwatch(targets) {
      if (closed) return
      checkTargets(targets, 'unwatch')
      watched.remove(targets)
      flushSoon()
    },
    decide(body) {
      if (!socket?.connected || !conn) return undefined
      return decideOverSocket(socket, conn, body)
    },
    get lastVersion() {
      return ledger.lastVersion
    },
    get connected() {
      return conn?.announced ?? false
    },
    get socket() {
      return socket
    },
    close() {
      if (closed) return
      closed = true
      clearTimeout(reconnectTimer)
      for (const w of waiters.splice(0)) w.reject(closedError())
      socket?.disconnect()
    },
  }
}

function oldest(data: DecisionAnswer | DecisionAnswer[]): number {
  const list = Array.isArray(data) ? data : [data]
  return Math.min(...list.map((a) => a.version))
}
