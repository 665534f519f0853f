/**
 * The "export worker": a backend service beside the enforcer. It checks each user's right to a
 * document through the decision API, runs a long export for them, and cancels it the moment the
 * revocation feed says the user (or their session) was revoked.
 *
 * Run it: `VIGIL_URL=http://127.0.0.1:3000 VIGIL_API_KEY=… node --import tsx demo/src/export-worker.ts`
 *
 * @module
 */
import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { pathToFileURL } from 'node:url'
import express from 'express'
import {
  createServiceClient,
  type ServiceClient,
  type ServiceRevokedEvent,
} from '@vigil-enforcer/client/service'
import { createExportJobs, type ExportJobs, type Job, type JobView } from './export-jobs.js'

export interface ExportWorkerOptions {
  /** The enforcer's base URL. */
  vigilUrl: string
  /** The service API key. */
  apiKey: string
  /** @default 3100 (0 picks a free port) */
  port?: number
  /** @default '127.0.0.1' */
  host?: string
  /** Time between progress ticks, ms. @default 200 */
  tickMs?: number
  /** Ticks per export. @default 100 */
  ticks?: number
  /** Told about every job that starts or ends. */
  onJob?: (view: JobView) => void
}

export interface ExportWorker {
  url: string
  jobs: ExportJobs
  client: ServiceClient
  close(): Promise<void>
}

/** Token refusals answer 401; a decision that denies answers 403. */
const TOKEN_CODES = new Set(['token_missing', 'token_invalid', 'token_expired', 'revoked'])
/** How long a job waits for the feed before it is refused: work that cannot be stopped never starts. */
const WATCH_TIMEOUT_MS = 10_000

/** The claims the worker watches by. Unverified: the decision API verifies the token itself. */
function peek(token: string): { sub: string; sid?: string; jti?: string; iat?: number } | null {
  try {
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'))
    return typeof claims?.sub === 'string' ? claims : null
  } catch {
    return null
  }
}

/** Whether a revocation on the feed reaches this job. */
function revokes(event: ServiceRevokedEvent, job: Job): boolean {
  if (event.session !== undefined) return event.session === job.session
  if (event.jti !== undefined) return event.jti === job.jti
  if (event.subject !== job.view.subject) return false
  return event.issued_before === undefined || (job.iat ?? 0) < event.issued_before
}

/**
 * Starts the export worker: `POST /jobs {token, docId}` starts an export, `GET /jobs/:id` shows it.
 *
 * @example
 * ```ts
 * const worker = await startExportWorker({ vigilUrl: 'http://127.0.0.1:3000', apiKey, port: 0 })
 * await fetch(`${worker.url}/jobs`, { method: 'POST', body: JSON.stringify({ token, docId: '42' }) })
 * ```
 */
export async function startExportWorker(options: ExportWorkerOptions): Promise<ExportWorker> {
  const client = createServiceClient({ url: options.vigilUrl, apiKey: options.apiKey })
  const jobs = createExportJobs({
    ...(options.tickMs === undefined ? {} : { tickMs: options.tickMs }),
    ...(options.ticks === undefined ? {} : { ticks: options.ticks }),
    ...(options.onJob ? { onChange: options.onJob } : {}),
  })

  client.on('revoked', (event) => {
    jobs.cancelWhere((job) => revokes(event, job), `revoked: ${event.reason}`)
  })
  // A step-down may or may not take the document away: ask again for that user's jobs.
  client.on('step-down', (event) => {
    void recheck(
      jobs.running().filter((j) => j.view.subject === event.subject),
      'step-down',
    )
  })
  client.on('resync', () => void recheck(jobs.running(), 'resync'))

  async function recheck(list: Job[], why: string): Promise<void> {
    if (list.length === 0) return
    const answers = await client
      .decide(list.map((j) => ({ token: j.token, action: 'doc:read', resource: resource(j) })))
      .catch(() => null)
    // Without an answer we cannot tell: fail closed, as the enforcer would.
    list.forEach((job, i) => {
      const a = answers?.[i]
      if (!a?.allow) jobs.cancelWhere((j) => j === job, `${why}: ${a?.reason ?? 'no decision'}`)
    })
  }
  const resource = (job: Job): string => `doc/${job.view.docId}`

  const app = express()
  app.use(express.json({ limit: '16kb' }))

  app.post('/jobs', async (req, res) => {
    const { token, docId } = (req.body ?? {}) as { token?: unknown; docId?: unknown }
    if (typeof token !== 'string' || typeof docId !== 'string' || !/^[\w-]{1,100}$/.test(docId)) {
      const message = 'expected {token: string, docId: string}'
      return void res.status(400).json({ error: { code: 'invalid_request', message } })
    }
    const claims = peek(token)
    if (!claims) {
      const message = 'the token is not a JWT'
      return void res.status(401).json({ error: { code: 'token_invalid', message } })
    }
    // Watch first, decide second: a revocation lands either in the decision or on the feed.
    const targets = { subjects: [claims.sub], ...(claims.sid ? { sessions: [claims.sid] } : {}) }
    let timer: NodeJS.Timeout | undefined
    const timedOut = new Promise<null>(
      (resolve) => (timer = setTimeout(resolve, WATCH_TIMEOUT_MS, null)),
    )
    const watched = await Promise.race([client.watch(targets), timedOut]).catch(() => null)
    clearTimeout(timer)
    if (!watched) {
      client.unwatch(targets)
      const message =
        'the revocation feed is not connected; an export that could not be stopped is not started'
      return void res.status(503).json({ error: { code: 'policy_stale', message } })
    }
    const answer = await client
      .decide({ token, action: 'doc:read', resource: `doc/${docId}` })
      .catch(() => null)
    if (!answer?.allow) {
      client.unwatch(targets)
      const code = answer?.code ?? (answer ? 'forbidden' : 'policy_stale')
      const status = TOKEN_CODES.has(code) ? 401 : answer ? 403 : 503
      const message = `not allowed to export doc/${docId}: ${answer?.reason ?? 'no decision'}`
      return void res.status(status).json({ error: { code, message } })
    }
    const job = jobs.start({
      docId,
      subject: claims.sub,
      token,
      session: claims.sid,
      jti: claims.jti,
      iat: claims.iat,
    })
    void job.settled.then(() => client.unwatch(targets))
    res.status(202).location(`/jobs/${job.view.id}`).json(job.view)
  })

  app.get('/jobs/:id', (req, res) => {
    const job = jobs.get(req.params.id)
    if (!job)
      return void res.status(404).json({ error: { code: 'not_found', message: 'no such job' } })
    res.json(job.view)
  })

  const server = createServer(app)
  server.listen(options.port ?? 3100, options.host ?? '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    jobs,
    client,
    async close() {
      await jobs.close()
      client.close()
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}

// Run directly: configuration from the environment, one JSON line per job change on stdout.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const apiKey = process.env['VIGIL_API_KEY']
  if (!apiKey) {
    process.stderr.write('export-worker: set VIGIL_API_KEY (and VIGIL_URL) first\n')
    process.exit(2)
  }
  const worker = await startExportWorker({
    vigilUrl: process.env['VIGIL_URL'] ?? 'http://127.0.0.1:3000',
    apiKey,
    port: Number(process.env['PORT'] ?? 3100),
    onJob: (view) => console.log(JSON.stringify({ job: view })),
  })
  console.log(JSON.stringify({ url: worker.url }))
  const stop = (): void => void worker.close().then(() => process.exit(0))
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}
