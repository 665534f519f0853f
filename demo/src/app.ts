import { fileURLToPath } from 'node:url'
import express from 'express'
import { createAdapter } from '@socket.io/redis-adapter'
import type { Logger } from 'pino'
import { z } from 'zod'
import {
  createRedisClient,
  duplicateClient,
  startStandalone,
  type Config,
  type Standalone,
} from '@vigil-enforcer/server'
import { demoApi } from './demo-api.js'
import { docRoutes } from './doc-routes.js'
import { createDocsStore } from './docs-store.js'
import { securityHeaders } from './security-headers.js'
import { SEED_POLICY } from './seed.js'

const PUBLIC = fileURLToPath(new URL('../public/', import.meta.url))
const DocEdit = z.strictObject({ docId: z.string().min(1).max(100), text: z.string().max(20_000) })

export interface Demo extends Standalone {
  /** Where a user signs in and works. */
  workspaceUrl: string
  /** The admin console. */
  adminUrl: string
  close(): Promise<void>
}

/**
 * The live revocation demo: an enforcer node plus a small document app whose every route and
 * socket event is enforced, a workspace page and an admin console. Two processes with the same
 * `REDIS_URL` form a two-node demo (app broadcasts cross nodes through the socket.io Redis
 * adapter; Vigil's own pushes come from the shared change log).
 */
export async function startDemo(config: Config, logger: Logger): Promise<Demo> {
  const docs = createDocsStore()
  let url = ''
  const node = await startStandalone(
    config,
    logger,
    (app, vigil) => {
      app.use(securityHeaders())
      app.use(demoApi(vigil, () => url))
      app.use(docRoutes(vigil, docs, (id) => node.io.emit('doc:saved', docs.get(id))))
      app.get('/', (_req, res) => res.sendFile('index.html', { root: PUBLIC }))
      app.get('/admin', (_req, res) => res.sendFile('admin.html', { root: PUBLIC }))
      app.use('/static', express.static(PUBLIC, { index: false, maxAge: 0 }))
    },
    {
      events: {
        'doc:edit': {
          action: 'doc:write',
          resource: (p: z.output<typeof DocEdit>) => `doc/${p.docId}`,
          schema: DocEdit,
        },
      },
    },
  )
  url = node.url
  const closers: (() => Promise<unknown>)[] = []
  if (config.redis) {
    // The same Redis as the store, whatever the topology (URL, Sentinel, Cluster).
    const pub = createRedisClient(config.redis, { connectionName: 'vigil-demo-io' })
    const sub = duplicateClient(pub, { connectionName: 'vigil-demo-io-sub' })
    node.io.adapter(createAdapter(pub, sub, { key: `${config.redisPrefix}demo-io` }))
    closers.push(async () => {
      pub.disconnect()
      sub.disconnect()
    })
  }
  node.io.on('connection', (socket) => {
    socket.on('doc:edit', (edit: z.output<typeof DocEdit>, ack?: (b: unknown) => void) => {
      const sub = (socket.data as { vigil?: { principal: { sub: string } } }).vigil?.principal.sub
      const doc = docs.update(edit.docId, edit.text, sub ?? 'unknown')
      if (!doc) return ack?.({ error: { code: 'not_found', message: 'no such document' } })
      socket.broadcast.emit('doc:update', doc)
      ack?.({ ok: true, data: { version: doc.version } })
    })
  })

  // The first node on an empty store seeds the demo policy; `ifVersion: 0` makes racing nodes agree.
  if ((await node.enforcer.store.version()) === 0) {
    await node.enforcer.store.apply(
      { type: 'policy.replace', policy: SEED_POLICY },
      { ifVersion: 0, actor: 'demo-seed' },
    )
  }
  return {
    ...node,
    workspaceUrl: `${node.url}/`,
    adminUrl: `${node.url}/admin`,
    async close() {
      await node.drain(2000)
      await Promise.all(closers.map((c) => c()))
    },
  }
}
