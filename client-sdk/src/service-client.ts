/**
 * The client for backend services: decisions over the service socket (or `POST /v1/decisions`)
 * and the revocation feed, which resumes after a reconnect from the last version it saw.
 *
 * @module
 */
import type { ManagerOptions, Socket, SocketOptions } from 'socket.io-client'
import {
  MAX_POLICY_BATCH,
  VigilError,
  type AppliedChanges,
  type DecisionQuery,
  type PolicyChange,
} from './protocol.js'
import {
  HTTP_CHUNK_BYTES,
  SOCKET_CHUNK_BYTES,
  checkQuery,
  chunkQueries,
  decideOverHttp,
  postJson,
  type DecisionAnswer,
} from './service-decide.js'
import {
  createServiceEmitter,
  type ServiceEventName,
  type ServiceHandler,
} from './service-events.js'
import { createServiceFeed } from './service-feed.js'
import type { WatchTargets } from './service-watch.js'

export interface ServiceClientOptions {
  /** The enforcer's base URL (scheme, host, port); `/services` and `/v1/decisions` live there. */
  url: string
  /** The service API key (`VIGIL_API_KEY`); sent in the socket handshake and as a Bearer. */
  apiKey: string
  /**
   * How `decide` travels: over the service socket (falling back to HTTP while it is down), or
   * always `POST /v1/decisions`. With `'http'` the socket opens on the first `watch`.
   * @default 'socket'
   */
  transport?: 'socket' | 'http'
  /** Resume the feed after this version (one a previous run persisted). @default undefined */
  since?: number
  /** How long a decision or a subscription may wait for its answer, ms. @default 10000 */
  timeoutMs?: number
  /** The `fetch` to use. @default globalThis.fetch */
  fetch?: typeof fetch
  /** Extra socket.io client options (reconnection delays…); `auth` is the client's own. */
  socket?: Partial<ManagerOptions & SocketOptions>
  /** Receives the client's debug lines (never the API key); the SDK has no logger. */
  onDebug?: (message: string, details?: Record<string, unknown>) => void
}

export interface ServiceClient {
  /** Decides one query: `{token | subject, action, resource}`. */
  decide(query: DecisionQuery): Promise<DecisionAnswer>
  /** Decides a batch of any size (sent in chunks the enforcer accepts), answers in order. */
  decide(queries: readonly DecisionQuery[]): Promise<DecisionAnswer[]>
  /**
   * Adds subjects and sessions to the feed and resolves once the enforcer holds the
   * subscription: every change from then on is delivered. Watch *before* deciding, so that a
   * change between the two is either in the decision or on the feed.
   */
  watch(targets: WatchTargets): Promise<{ version: number }>
  /**
   * Writes up to 10,000 policy changes atomically, as one policy version and one log entry
   * (`POST /v1/policy/changes` with `{changes}`); the API key must be an admin one. A bad change
   * rejects with `invalid_policy` / `invalid_request` naming `changes.<i>.<field>`, and nothing
   * is applied.
   */
  applyChanges(changes: readonly PolicyChange[]): Promise<AppliedChanges>
  /** Takes back what one `watch` call added. */
  unwatch(targets: WatchTargets): void
  on<E extends ServiceEventName>(event: E, handler: ServiceHandler<E>): () => void
  off<E extends ServiceEventName>(event: E, handler: ServiceHandler<E>): void
  /** The version the feed resumes after; persist it to resume across restarts. */
  readonly lastVersion: number | undefined
  /** True while the feed is connected and subscribed. */
  readonly connected: boolean
  /** The underlying socket, for diagnostics; undefined until the feed opens. */
  readonly socket: Socket | undefined
  /** Closes the feed; pending and later calls reject with `closed`. */
  close(): void
}

/**
 * Connects a backend service to the enforcer.
 *
 * @example
 * ```ts
 * const vigil = createServiceClient({ url: 'http://127.0.0.1:3000', apiKey })
 * vigil.on('revoked', (e) => jobs.cancelWhere(e.subject, e.session))
 * await vigil.watch({ subjects: ['alice'] })
 * const { allow } = await vigil.decide({ token, action: 'doc:read', resource: 'doc/42' })
 * ```
 */
export function createServiceClient(options: ServiceClientOptions): ServiceClient {
  if (typeof options?.url !== 'string' || !URL.canParse(options.url)) {
    throw new TypeError('createServiceClient: url must be an absolute URL')
  }
  if (typeof options.apiKey !== 'string' || options.apiKey.length === 0) {
    throw new TypeError('createServiceClient: apiKey is required')
  }
  const baseUrl = options.url.replace(/\/+$/, '')
  const transport = options.transport ?? 'socket'
  const timeoutMs = options.timeoutMs ?? 10_000
  const fetchImpl = options.fetch ?? globalThis.fetch
  const debug = options.onDebug ?? (() => {})
  let closed = false

  const emitter = createServiceEmitter((event, err) => {
    if (event === 'error') return debug('an error handler threw', { err })
    report(new VigilError('internal', `a ${event} handler threw`, { cause: err }))
  })
  function report(err: VigilError): void {
    if (emitter.has('error')) emitter.emit('error', err)
    else debug(err.message, { code: err.code })
  }
  const feed = createServiceFeed({
    baseUrl,
    apiKey: options.apiKey,
    since: options.since,
    timeoutMs,
    socket: options.socket,
    emitter,
    debug,
    report,
  })
  const closedError = (): VigilError => new VigilError('closed', 'the service client was closed')

  async function send(body: DecisionQuery | DecisionQuery[]): Promise<unknown> {
    const overSocket = transport === 'socket' ? feed.decide(body) : undefined
    if (overSocket) {
      try {
        return await overSocket
      } catch (err) {
        if (err instanceof VigilError) throw err
        if (closed) throw closedError()
        // A decision only reads: asking again over HTTP is safe.
        debug('decision over the socket failed; using HTTP', { message: (err as Error).message })
      }
    }
    return decideOverHttp(fetchImpl, baseUrl, options.apiKey, body, timeoutMs)
  }

  async function decide(
    input: DecisionQuery | readonly DecisionQuery[],
  ): Promise<DecisionAnswer | DecisionAnswer[]> {
    if (closed) throw closedError()
    if (!Array.isArray(input)) {
      checkQuery(input, 'decide')
      return (await send(input)) as DecisionAnswer
    }
    input.forEach((q, i) => checkQuery(q, `decide[${i}]`))
    const limit = transport === 'socket' ? SOCKET_CHUNK_BYTES : HTTP_CHUNK_BYTES
    const chunks = chunkQueries(input, limit)
    const answers = await Promise.all(chunks.map((chunk) => sendSplitting(chunk)))
    return answers.flat()
  }

  /**
   * A batch that used up the enforcer's decision-time budget comes back with the answers it
   * reached (`details.answers`); the rest is asked again, until every query has its answer.
   */
  async function sendSplitting(chunk: DecisionQuery[]): Promise<DecisionAnswer[]> {
    const answers: DecisionAnswer[] = []
    let rest = chunk
    for (;;) {
      try {
        answers.push(...((await send(rest)) as DecisionAnswer[]))
        return answers
      } catch (err) {
        const reached = (err as VigilError).details as { answers?: unknown } | undefined
        const partial = Array.isArray(reached?.answers) ? (reached.answers as DecisionAnswer[]) : []
        // Without progress, asking again would loop: give the error to the caller.
        const progress = partial.length > 0 && partial.length < rest.length
        if (!(err instanceof VigilError) || err.code !== 'budget_exceeded' || !progress) throw err
        answers.push(...partial)
        rest = rest.slice(partial.length)
      }
    }
  }

  if (transport === 'socket') feed.open()

  async function applyChanges(changes: readonly PolicyChange[]): Promise<AppliedChanges> {
    if (!Array.isArray(changes) || changes.length === 0 || changes.length > MAX_POLICY_BATCH) {
      throw new TypeError(`applyChanges: pass 1 to ${MAX_POLICY_BATCH} changes`)
    }
    if (closed) throw closedError()
    const url = `${baseUrl}/v1/policy/changes`
    return (await postJson(
      fetchImpl,
      url,
      options.apiKey,
      { changes },
      timeoutMs,
      'policy API',
    )) as AppliedChanges
  }

  return {
    decide: decide as ServiceClient['decide'],
    applyChanges,
    watch: (targets) => feed.watch(targets),
    unwatch: (targets) => feed.unwatch(targets),
    on: emitter.on,
    off: emitter.off,
    get lastVersion() {
      return feed.lastVersion
    },
    get connected() {
      return feed.connected
    },
    get socket() {
      return feed.socket
    },
    close() {
      if (closed) return
      closed = true
      feed.close()
      emitter.clear()
    },
  }
}
