/**
 * Shared by the SDK's Node tests and the browser tests: an in-process enforcer node with the
 * demo's enforced routes (one of which never answers, one that streams for a long time) and the
 * `doc:edit` socket event, plus small waiting helpers.
 */
import type { Request } from 'express'
import { z } from 'zod'
import { SEED_POLICY, startNode, type TestNode } from '../../server/test/helpers/enforcer.js'
import type { TokenPair } from '../src/index.js'

const DocEdit = z.strictObject({ docId: z.string().min(1).max(100), text: z.string().max(10_000) })

export interface SdkNode extends TestNode {
  /** Requests the node is holding open right now, by route (`hold`, `export`, `put-hold`). */
  holding: Map<string, number>
  /** How many times `POST /v1/token` was called. */
  tokenCalls(): number
  /** Mints a session for `sub` through the service API. */
  session(sub: string): Promise<TokenPair>
}

/**
 * Starts a node with the seed policy (alice editor, bob viewer), the doc routes and `doc:edit`.
 *
 * @example
 * ```ts
 * const node = await startSdkNode({ env: { VIGIL_ACCESS_TTL: '5' } })
 * ```
 */
export async function startSdkNode(
  options: {
    env?: Record<string, string>
    expiringLeadS?: number
    expiryGraceS?: number
    extraRoutes?: NonNullable<Parameters<typeof startNode>[0]>['routes']
  } = {},
): Promise<SdkNode> {
  const holding = new Map<string, number>()
  let tokenCalls = 0
  const hold = (name: string, req: Request, onClose?: () => void): void => {
    holding.set(name, (holding.get(name) ?? 0) + 1)
    req.socket.once('close', () => {
      holding.set(name, (holding.get(name) ?? 1) - 1)
      onClose?.()
    })
  }
  const node = await startNode({
    env: { VIGIL_ALLOWED_ORIGINS: '*', LOG_LEVEL: 'warn', ...options.env },
    realtime: {
      events: {
        'doc:edit': {
          action: 'doc:write',
          resource: (p: z.output<typeof DocEdit>) => `doc/${p.docId}`,
          schema: DocEdit,
        },
      },
      ...(options.expiringLeadS !== undefined ? { expiringLeadS: options.expiringLeadS } : {}),
      ...(options.expiryGraceS !== undefined ? { expiryGraceS: options.expiryGraceS } : {}),
    },
    routes(app, vigil) {
      const doc = (req: Request): string => `doc/${String(req.params['id'])}`
      app.post('/v1/token', (_req, _res, next) => {
        tokenCalls += 1
        next()
      })
      app.get('/api/docs/:id', vigil.enforce('doc:read', doc), (req, res) => {
        res.json({ id: req.params['id'], reader: req.vigil?.principal.sub })
      })
      app.put('/api/docs/:id', vigil.enforce('doc:write', doc), (req, res) => {
        // `?hold` keeps the save in flight until the client gives up on it.
        if (req.query['hold'] !== undefined) return hold('put-hold', req)
        res.json({ id: req.params['id'], writer: req.vigil?.principal.sub })
      })
      app.get('/api/hold/:id', vigil.enforce('doc:read', doc), (req) => hold('hold', req))
      app.get('/api/docs/:id/export', vigil.enforce('doc:read', doc), (req, res) => {
        res.setHeader('content-type', 'text/plain; charset=utf-8')
        res.flushHeaders()
        res.write('export started\n')
        const timer = setInterval(() => res.write('chunk\n'), 200)
        hold('export', req, () => clearInterval(timer))
      })
      options.extraRoutes?.(app, vigil)
    },
  })
  const put = await node.api('/v1/policy', { method: 'PUT', json: SEED_POLICY })
  if (!put.ok) throw new Error(`seeding the policy failed: ${put.status} ${await put.text()}`)
  node.io!.on('connection', (socket) => {
    socket.on('doc:edit', (edit: z.output<typeof DocEdit>, ack?: (body: unknown) => void) => {
      ack?.({ ok: true, data: { docId: edit.docId, length: edit.text.length } })
    })
  })
  return Object.assign(node, {
    holding,
    tokenCalls: () => tokenCalls,
    async session(sub: string): Promise<TokenPair> {
      const res = await node.api('/v1/sessions', { method: 'POST', json: { sub } })
      if (res.status !== 201) throw new Error(`minting a session failed: ${res.status}`)
      return (await res.json()) as TokenPair
    },
  })
}

/** Resolves once `predicate` holds, polling every 10 ms; fails after `timeoutMs`. */
export async function until(
  predicate: () => boolean,
  what: string,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/** A Web Storage stand-in for Node. */
export function memoryStorage(): Storage {
  const items = new Map<string, string>()
  return {
    get length() {
      return items.size
    },
    clear: () => items.clear(),
    getItem: (key) => items.get(key) ?? null,
    key: (i) => [...items.keys()][i] ?? null,
    removeItem: (key) => void items.delete(key),
    setItem: (key, value) => void items.set(key, String(value)),
  }
}
