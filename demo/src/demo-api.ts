import express, { type Router } from 'express'
import { z } from 'zod'
import { sendError, type Enforcer } from '@vigil-enforcer/server'
import { requireAllowedHost } from './host-allow-list.js'
import { DEMO_USERS } from './seed.js'

const LoginBody = z.strictObject({ sub: z.enum(DEMO_USERS.map((u) => u.sub)) })
const Telemetry = z.strictObject({
  kind: z.enum(['revoked', 'step-down', 'step-up']),
  sub: z.string().max(200),
  latencyMs: z.number().min(0).max(600_000),
  version: z.number().int().nonnegative(),
})

/** How often an open audit tail is decided again besides on updates and at expiry, ms. */
const AUDIT_RECHECK_MS = 1000

/** How many propagation figures the admin console's chart keeps. */
const LATENCY_HISTORY = 100

/**
 * The demo backend's own endpoints. Sign-in mints the session the way a real backend would —
 * by calling the enforcer's `POST /v1/sessions` with the service API key — and hands the pair to
 * the page. The admin console reads a live audit tail and the latencies user pages measured.
 */
export function demoApi(vigil: Enforcer, selfUrl: () => string): Router {
  const router = express.Router()
  const latencies: z.output<typeof Telemetry>[] = []
  router.use('/demo', express.json({ limit: '8kb' }))

  router.get('/demo/users', (_req, res) => {
    res.json(DEMO_USERS)
  })

  // Minted without a credential: only on this deployment's own hosts (DNS rebinding).
  router.post('/demo/login', requireAllowedHost(vigil.config, selfUrl), async (req, res) => {
    const body = LoginBody.safeParse(req.body)
    if (!body.success) return sendError(res, 'invalid_request', 'sub: not a demo user')
    const user = DEMO_USERS.find((u) => u.sub === body.data.sub)!
    const minted = await fetch(`${selfUrl()}/v1/sessions`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${vigil.config.apiKey}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ sub: user.sub, claims: { name: user.name } }),
    })
    res.status(minted.status).setHeader('Cache-Control', 'no-store')
    res.json({ user, session: await minted.json() })
  })

  router.post('/demo/telemetry', (req, res) => {
    const body = Telemetry.safeParse(req.body)
    if (!body.success) return sendError(res, 'invalid_request', 'not a latency report')
    latencies.push(body.data)
    if (latencies.length > LATENCY_HISTORY) latencies.shift()
    res.status(204).end()
  })

  router.get('/demo/latencies', (_req, res) => {
    res.json(latencies)
  })

  // The live audit tail for the admin console: NDJSON over a streamed response, admins only —
  // for as long as the stream lasts, not only when it opens: like the export, it is decided
  // again on every policy update, when the token expires and every second (a stale node denies),
  // and ends with the refusal as its last line.
  router.get('/demo/audit', async (req, res) => {
    const token = /^Bearer (\S+)$/.exec(req.get('authorization') ?? '')?.[1]
    const opts = { transport: 'http' } as const
    const allowed = await vigil.authorizer.authorize(token, 'vigil:admin', 'vigil', opts)
    if (!allowed.ok) return sendError(res, allowed.code, allowed.message)
    const { principal } = allowed
    res.setHeader('Content-Type', 'application/x-ndjson')
    res.setHeader('Cache-Control', 'no-store')
    res.flushHeaders()
    const untap = vigil.audit.tap((record) => {
      // The console's own tail would otherwise echo itself forever.
      if (record.event === 'decision' && record.action === 'vigil:admin') return
      res.write(JSON.stringify(record) + '\n')
    })
    function recheck(): void {
      // A principal in hand on the fast path: decided without I/O, so never undefined here.
      const decision = vigil.authorizer.authorizeNow(principal, 'vigil:admin', 'vigil', opts)
      if (decision === undefined || decision.ok) return
      stop()
      res.end(JSON.stringify({ error: { code: decision.code, message: decision.message } }) + '\n')
    }
    const untilExpiry = Math.max(0, (principal.exp ?? 0) * 1000 - Date.now())
    const expiry = setTimeout(recheck, Math.min(untilExpiry, 2 ** 31 - 1))
    const heartbeat = setInterval(recheck, AUDIT_RECHECK_MS)
    vigil.live.on('update', recheck)
    function stop(): void {
      untap()
      clearTimeout(expiry)
      clearInterval(heartbeat)
      vigil.live.off('update', recheck)
    }
    // The response's close: the client went away, or the refusal above ended the stream.
    res.on('close', stop)
  })

  return router
}
