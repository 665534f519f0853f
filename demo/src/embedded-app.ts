/**
 * Embedding: an existing express + socket.io app — its own routes, its own `io`, its own public
 * namespace — that mounts Vigil's enforcement with `createEnforcer`. Pointed at the same
 * `REDIS_URL` as the standalone enforcers, it decides on the same policy and tears down its own
 * sockets on the same changes; a step-down made through any node's API reaches it in
 * milliseconds.
 *
 * Run it: `REDIS_URL=redis://127.0.0.1:6379 VIGIL_API_KEY=… VIGIL_ISSUER=… node --import tsx demo/src/embedded-app.ts`
 * It prints `{"url": …}` once listening.
 *
 * @module
 */
import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { pathToFileURL } from 'node:url'
import express, { type Request } from 'express'
import { Server } from 'socket.io'
import { z } from 'zod'
import {
  attachRealtime,
  attachServiceFeed,
  createEnforcer,
  jsonErrors,
  type Config,
} from '@vigil-enforcer/server'

/** The app's collaborative-editing event; it needs `doc:write` on the document. */
const DocEdit = z.strictObject({ docId: z.string().min(1).max(100), text: z.string().max(10_000) })

export interface EmbeddedApp {
  url: string
  close(): Promise<void>
}

/**
 * Starts the app with Vigil inside it.
 *
 * @example
 * ```ts
 * const parsed = loadConfig(process.env)
 * if (parsed.ok) await startEmbeddedApp(parsed.config)
 * ```
 */
export async function startEmbeddedApp(config: Config): Promise<EmbeddedApp> {
  const vigil = await createEnforcer({ config })
  const log = vigil.logger.child({ module: 'embedded-app' })
  const docs = new Map<string, string>()

  // The app as it was before Vigil: its own express routes…
  const app = express()
  app.disable('x-powered-by')
  app.get('/api/hello', (_req, res) => void res.json({ hello: 'world' }))
  // …and with Vigil: its API (sessions, decisions, JWKS) and a decision per request.
  app.use(vigil.router)
  const doc = (req: Request): string => `doc/${String(req.params['id'])}`
  app.get('/api/docs/:id', vigil.enforce('doc:read', doc), (req, res) => {
    res.json({ id: req.params['id'], text: docs.get(String(req.params['id'])) ?? '' })
  })
  app.put(
    '/api/docs/:id',
    // A write is decided on the store's latest version: a step-down acknowledged anywhere holds.
    vigil.enforce('doc:write', doc, { consistency: 'strong' }),
    express.text({ limit: '16kb' }),
    (req, res) => {
      docs.set(String(req.params['id']), String(req.body ?? ''))
      res.json({ id: req.params['id'], writer: req.vigil?.principal.sub })
    },
  )
  // Last: any error of the app's routes is answered as JSON, never as express's HTML page.
  app.use(jsonErrors(vigil.logger))

  // The app's own socket.io server, with its own options and a public namespace.
  const http = createServer(app)
  const io = new Server(http, {
    maxHttpBufferSize: 64 * 1024,
    cors: { origin: config.allowedOrigins.includes('*') ? true : config.allowedOrigins },
    serveClient: false,
  })
  io.of('/lobby').on('connection', (socket) =>
    socket.emit('welcome', { users: io.engine.clientsCount }),
  )
  // Vigil guards the default namespace: handshake, a decision per event, pushed changes.
  const realtime = attachRealtime(io, vigil, {
    events: {
      'doc:edit': { action: 'doc:write', resource: (p) => `doc/${p.docId}`, schema: DocEdit },
    },
  })
  const feed = attachServiceFeed(io, vigil)
  io.on('connection', (socket) => {
    socket.on('doc:edit', (edit: z.output<typeof DocEdit>, ack?: (body: unknown) => void) => {
      docs.set(edit.docId, edit.text)
      socket.broadcast.emit('doc:changed', { docId: edit.docId })
      ack?.({ ok: true, data: { docId: edit.docId, length: edit.text.length } })
    })
  })

  http.listen(config.port, config.host)
  await once(http, 'listening')
  const { port } = http.address() as AddressInfo
  const url = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`
  log.info({ store: vigil.store.kind }, 'embedded app listening')
  return {
    url,
    async close() {
      await realtime.close()
      feed.close()
      io.disconnectSockets(true)
      await io.close()
      await vigil.close()
    },
  }
}

// Run directly: configuration from the environment, as the `vigil` bin reads it.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { loadConfig } = await import('@vigil-enforcer/server')
  const parsed = loadConfig(process.env)
  if (!parsed.ok) {
    process.stderr.write(`embedded-app: invalid configuration\n  ${parsed.problems.join('\n  ')}\n`)
    process.exit(1)
  }
  const embedded = await startEmbeddedApp(parsed.config)
  console.log(JSON.stringify({ url: embedded.url }))
  const stop = (): void => void embedded.close().then(() => process.exit(0))
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}
