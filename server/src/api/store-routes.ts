import { Router } from 'express'
import { sendError, sendThrown } from '../http/errors.js'
import { requireAdmin } from './auth.js'
import type { ApiDeps } from './deps.js'

/**
 * The store's trust, for operators: `GET /v1/store` says which history this node follows and
 * whether it fails closed; `POST /v1/store/restore` makes this node write back what the store
 * lost (the by-hand recovery of `VIGIL_STORE_LOSS=fail-closed`; `restore` mode does it itself).
 */
export function storeRoutes(deps: ApiDeps & { storeLoss: 'restore' | 'fail-closed' }): Router {
  const router = Router()
  const admin = requireAdmin(deps)

  router.get('/v1/store', admin, async (_req, res) => {
    try {
      const [head, failure] = [deps.live.head(), deps.live.failure()]
      const store = await deps.store.head().catch(() => undefined)
      res.json({
        kind: deps.store.kind,
        mode: deps.storeLoss,
        status: failure?.code ?? 'ok',
        ...(failure ? { failure } : {}),
        node: head,
        store: store === undefined ? 'unreachable' : store,
      })
    } catch (err) {
      sendThrown(res, err)
    }
  })

  router.post('/v1/store/restore', admin, async (_req, res) => {
    const actor = String(res.locals['actor'] ?? 'unknown')
    try {
      const outcome = await deps.live.restore(actor)
      if (!outcome.ok) return sendError(res, outcome.code, outcome.message)
      res.json(outcome)
    } catch (err) {
      sendThrown(res, err)
    }
  })

  return router
}
