import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import express from 'express'
import type { Config } from './config.js'
import { createEnforcer, type Enforcer } from './enforcer.js'
import type { Logger } from 'pino'

export interface Standalone {
  enforcer: Enforcer
  server: Server
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
): Promise<Standalone> {
  const enforcer = await createEnforcer({ config, logger })
  const app = express()
  app.disable('x-powered-by')
  routes?.(app, enforcer)
  app.use(enforcer.router)
  const server = createServer(app)
  server.listen(config.port, config.host)
  await once(server, 'listening')
  const port = (server.address() as AddressInfo).port
  const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host
  return {
    enforcer,
    server,
    url: `http://${host}:${port}`,
    async drain(graceMs = 10_000) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeIdleConnections()
      const forced = setTimeout(() => server.closeAllConnections(), graceMs)
      await closed
      clearTimeout(forced)
      await enforcer.close()
    },
  }
}
