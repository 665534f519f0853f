import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import express from 'express'
import type { Config } from './config.js'
import { createEnforcer, type Enforcer } from './enforcer.js'
import { jsonErrors } from './http/json-errors.js'
import type { Logger } from 'pino'
import type { Server as SocketServer } from 'socket.io'
import { attachRealtime, createSocketServer, type Realtime } from './realtime/attach.js'
import type { RealtimeOptions } from './realtime/options.js'
import { attachServiceFeed } from './realtime/services.js'

export interface Standalone {
  enforcer: Enforcer
  server: Server
  /** The enforced socket.io server (default namespace). */
  io: SocketServer
  realtime: Realtime
  url: string
  /** Stop accepting, let in-flight requests finish (forced after `graceMs`), flush, close. */
  drain(graceMs?: number): Promise<void>
}

/**
 * One enforcer node serving HTTP: Vigil's routes plus whatever `routes` mounts (the demo's
 * enforced routes, an app's own). `main.ts` runs this from the environment.
 *
 * @example
 * ```ts
 * const node = await startStandalone(config, logger, (app, vigil) => {
 *   app.get('/api/docs/:id', vigil.enforce('doc:read', (req) => `doc/${req.params.id}`), read)
 * })
 * ```
 */
export async function startStandalone(
  config: Config,
  logger: Logger,
  routes?: (app: express.Express, enforcer: Enforcer) => void,
  realtimeOptions: RealtimeOptions = { events: {} },
): Promise<Standalone> {
  const enforcer = await createEnforcer({ config, logger })
  const app = express()
  app.disable('x-powered-by')
  routes?.(app, enforcer)
  app.use(enforcer.router)
  // An error in the app's own routes (a malformed JSON body…) is answered as JSON, not HTML.
  app.use(jsonErrors(logger))
  const server = createServer(app)
  const io = createSocketServer(server, enforcer)
  const realtime = attachRealtime(io, enforcer, realtimeOptions)
  const feed = attachServiceFeed(io, enforcer)
  server.listen(config.port, config.host)
  try {
    await once(server, 'listening')
  } catch (err) {
    // A busy port: release what the node already holds (store connection, timers), so an
    // embedding app that catches this is left with nothing running.
    await realtime.close()
    feed.close()
    io.close()
    await enforcer.close()
    throw err
  }
  const port = (server.address() as AddressInfo).port
  const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host
  return {
    enforcer,
    server,
    io,
    realtime,
    url: `http://${host}:${port}`,
    async drain(graceMs = 10_000) {
      await realtime.close()
      feed.close()
      // Sockets are told to reconnect elsewhere; HTTP requests in flight may finish. Only this
      // node's: with a cluster adapter, a bare disconnectSockets() closes every node's sockets.
      io.local.disconnectSockets(true)
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeIdleConnections()
      const forced = setTimeout(() => server.closeAllConnections(), graceMs)
      await closed
      clearTimeout(forced)
      await enforcer.close()
    },
  }
}
