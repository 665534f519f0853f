import type { Server as HttpServer } from 'node:http'
import { Server, type Socket } from 'socket.io'
import {
  EVENTS,
  type CapabilitiesEvent,
  type ExpiredEvent,
  type ExpiringEvent,
  type RevokedEvent,
} from '@vigil-enforcer/client/protocol'
import type { Enforcer } from '../enforcer.js'
import type { PolicyUpdate } from '../live-policy.js'
import { reevaluate, type Consequence } from '../sessions/reevaluate.js'
import type { LiveEntry } from '../sessions/registry.js'
import { createDirectoryPublisher } from './directory.js'
import { createMessageGuard } from './guard.js'
import { createHandshake, type VigilSocketData } from './handshake.js'
import { createLifetimes } from './lifetime.js'
import {
  MAX_MESSAGE_BYTES,
  MAX_SOCKETS_PER_SESSION,
  RATE_LIMIT_DEFAULTS,
  type RealtimeOptions,
} from './options.js'
import { createRefreshHandler } from './refresh.js'
import { protectListeners } from './safe-listeners.js'
import { SessionBudgets } from './session-budgets.js'

export interface Realtime {
  /** Stops pushing policy updates and heartbeats; sockets are closed by `io.close()`. */
  close(): Promise<void>
}

/**
 * Puts a socket.io server under Vigil: handshake auth, a decision per message, token refresh
 * in place, and — when the policy changes — `vigil:revoked` / `vigil:step-down` / `vigil:step-up`
 * pushed to exactly the affected sockets of this node.
 *
 * @example
 * ```ts
 * const io = createSocketServer(httpServer, vigil)
 * attachRealtime(io, vigil, { events: { 'doc:edit': { action: 'doc:write', resource: (p) => `doc/${p.docId}` } } })
 * io.on('connection', (socket) => socket.on('doc:edit', (p, ack) => ack({ ok: true })))
 * ```
 */
export function attachRealtime(io: Server, enforcer: Enforcer, options: RealtimeOptions): Realtime {
  const { authorizer, audit, live, registry, logger: root, config, store } = enforcer
  const logger = root.child({ module: 'realtime' })
  const budgets = new SessionBudgets(
    { ...RATE_LIMIT_DEFAULTS, ...options.rateLimit },
    options.maxSocketsPerSession ?? MAX_SOCKETS_PER_SESSION,
  )
  // socket.io's own map of this namespace's sockets: Vigil keeps no second one.
  const sockets = io.sockets.sockets
  const version = (): number => live.current().version
  const directory = createDirectoryPublisher({
    store,
    registry,
    node: config.nodeId,
    heartbeatMs: options.directoryHeartbeatMs ?? 5000,
    logger,
  })
  const lifetimes = createLifetimes({
    leadS: options.expiringLeadS ?? 30,
    graceS: options.expiryGraceS ?? 5,
    onExpiring(id, exp) {
      const event: ExpiringEvent = { exp }
      sockets.get(id)?.emit(EVENTS.expiring, event)
    },
    onExpired(id, exp) {
      const socket = sockets.get(id)
      if (!socket) return
      const event: ExpiredEvent = { code: 'token_expired', exp }
      socket.emit(EVENTS.expired, event)
      socket.disconnect(true)
    },
  })
  const guard = createMessageGuard({
    authorizer,
    audit,
    rules: options.events,
    version,
    onTerminal: terminate,
    onFlood(socket, entry) {
      const { sub, sid } = entry.principal
      logger.warn({ sub, sid }, 'message flood: disconnecting')
      socket.disconnect(true)
    },
  })
  const onRefresh = createRefreshHandler({ authorizer, audit, live, registry, lifetimes, version })

  // Before the handshake and every `connection` handler, so no app listener goes unprotected.
  io.use(function vigilSafeListeners(socket, next) {
    protectListeners(socket, onListenerFailure)
    next()
  })
  io.use(
    createHandshake({
      authorizer,
      audit,
      allowedOrigins: config.allowedOrigins,
      version,
      admit: (socket, principal) => budgets.admit(socket, principal),
    }),
  )

  io.on('connection', (socket) => {
    const data = (socket.data as VigilSocketData).vigil
    const limiter = data?.limiter
    if (!data || !limiter) return void socket.disconnect(true)
    budgets.connected(socket)
    const policy = live.current()
    const p = data.principal
    const entry: LiveEntry = {
      id: socket.id,
      principal: p,
      keys: policy.keysOf(p),
      roles: policy.rolesOf(p),
      capabilities: policy.capabilities(p),
      connectedAt: Date.now(),
    }
    // A change may have landed between the handshake's decision and this moment.
    const late = policy.revocation(p)
    if (late) {
      budgets.release(limiter)
      return void terminate(socket, 'revoked', late.detail)
    }
    registry.add(entry)
    directory.connected(entry)
    lifetimes.schedule(socket.id, p.iat, p.exp)
    socket.use(guard(socket, entry, limiter))
    // Listeners shared by every socket (socket.io calls them with `this` set to the socket).
    socket.on(EVENTS.refresh, onRefresh)
    socket.on('disconnect', onDisconnect)
    const hello: CapabilitiesEvent = { version: policy.version, capabilities: entry.capabilities }
    socket.emit(EVENTS.capabilities, hello)
  })

  function onListenerFailure(err: unknown, event: string, socket: Socket): void {
    enforcer.metrics.handlerError('socket')
    const p = (socket.data as VigilSocketData).vigil?.principal
    logger.error(
      { err, event: event.slice(0, 100), sub: p?.sub, sid: p?.sid },
      'socket handler failed',
    )
  }

  function onDisconnect(this: Socket): void {
    const limiter = (this.data as VigilSocketData).vigil?.limiter
    if (limiter) budgets.release(limiter)
    lifetimes.cancel(this.id)
    const entry = registry.remove(this.id)
    if (entry) directory.disconnected(entry)
  }

  function terminate(socket: Socket, code: 'revoked' | 'token_expired', reason: string): void {
    if (code === 'revoked') {
      const event: RevokedEvent = { reason, version: version(), at: Date.now() }
      socket.emit(EVENTS.revoked, event)
    } else {
      // A refresh in place swaps the registry entry's token; the handshake's one may be long gone.
      const p =
        registry.get(socket.id)?.principal ?? (socket.data as VigilSocketData).vigil?.principal
      const exp = p?.exp ?? 0
      socket.emit(EVENTS.expired, { code: 'token_expired', exp })
    }
    socket.disconnect(true)
  }

  /**
   * One broadcast per group: socket.io encodes the packet once for all its sockets (each socket
   * id is a room). `local`: with a cluster adapter, every node pushes to its own sockets.
   */
  function push(c: Consequence): void {
    const group = io.local.to(c.entries.map((e) => e.id))
    if (c.kind === 'revoked') {
      group.emit(EVENTS.revoked, c.event)
      group.disconnectSockets(true)
    } else {
      group.emit(c.kind === 'step-down' ? EVENTS.stepDown : EVENTS.stepUp, c.event)
      // Roles shown in the cross-node directory changed with the step.
      for (const e of c.entries) directory.connected(e)
    }
  }

  function onUpdate(update: PolicyUpdate): void {
    const consequences = reevaluate(update, registry)
    let affected = 0
    for (const c of consequences) {
      push(c)
      affected += c.entries.length
    }
    if (affected > 0) {
      logger.debug(
        { version: update.after.version, affected },
        'pushed policy update to live sockets',
      )
    }
  }
  live.on('update', onUpdate)

  return {
    async close() {
      live.off('update', onUpdate)
      await directory.close()
    },
  }
}

/**
 * A socket.io server with Vigil's defaults: CORS limited to the allowed origins and a 64 KB
 * message cap (socket.io's own default is 1 MB).
 */
export function createSocketServer(http: HttpServer, enforcer: Enforcer): Server {
  const origins = enforcer.config.allowedOrigins
  return new Server(http, {
    maxHttpBufferSize: MAX_MESSAGE_BYTES,
    cors: { origin: origins.includes('*') ? true : origins },
    serveClient: false,
  })
}
