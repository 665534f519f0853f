import express, { type Request, type Router } from 'express'
import { z } from 'zod'
import { sendError, type Enforcer } from '@vigil-enforcer/server'
import type { DocsStore } from './docs-store.js'

const SaveBody = z.strictObject({ text: z.string().max(20_000) })

/** Export length: long enough to be revoked mid-stream in the demo. */
const EXPORT_TICKS = 40
const EXPORT_TICK_MS = 200

const docResource = (req: Request): string => `doc/${String(req.params['id'])}`

/**
 * The demo app's own routes, each behind `enforce()`: read, save, and a long streaming export —
 * the in-flight work a revocation must stop. The export re-decides on every chunk, so even a
 * client that ignores `vigil:revoked` stops receiving data the moment access is gone.
 */
export function docRoutes(vigil: Enforcer, docs: DocsStore, onSaved: (id: string) => void): Router {
  const router = express.Router()
  router.use('/api', express.json({ limit: '64kb' }))

  router.get('/api/docs', vigil.enforce('doc:read', 'doc/*'), (_req, res) => {
    res.json(docs.list().map(({ id, title, version }) => ({ id, title, version })))
  })

  router.get('/api/docs/:id', vigil.enforce('doc:read', docResource), (req, res) => {
    const doc = docs.get(String(req.params['id']))
    if (!doc) return sendError(res, 'not_found', 'no such document')
    res.json(doc)
  })

  router.put('/api/docs/:id', vigil.enforce('doc:write', docResource), (req, res) => {
    const body = SaveBody.safeParse(req.body)
    if (!body.success) return sendError(res, 'invalid_request', 'text: a string is required')
    const doc = docs.update(String(req.params['id']), body.data.text, req.vigil!.principal.sub)
    if (!doc) return sendError(res, 'not_found', 'no such document')
    onSaved(doc.id)
    res.json(doc)
  })

  router.get('/api/docs/:id/export', vigil.enforce('doc:export', docResource), (req, res) => {
    const doc = docs.get(String(req.params['id']))
    if (!doc) return sendError(res, 'not_found', 'no such document')
    const principal = req.vigil!.principal
    res.setHeader('Content-Type', 'application/x-ndjson')
    res.setHeader('Cache-Control', 'no-store')
    let tick = 0
    const timer = setInterval(async () => {
      const decision = await vigil.authorizer.authorize(principal, 'doc:export', docResource(req), {
        transport: 'http',
      })
      if (!decision.ok) {
        res.end(
          JSON.stringify({ error: { code: decision.code, message: decision.message } }) + '\n',
        )
        return clearInterval(timer)
      }
      tick += 1
      const line = doc.text.split('\n')[tick % Math.max(1, doc.text.split('\n').length)] ?? ''
      res.write(JSON.stringify({ progress: tick / EXPORT_TICKS, chunk: line }) + '\n')
      if (tick >= EXPORT_TICKS) {
        res.end(JSON.stringify({ done: true }) + '\n')
        clearInterval(timer)
      }
    }, EXPORT_TICK_MS)
    req.on('close', () => clearInterval(timer))
  })

  return router
}
