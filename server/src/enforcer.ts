import express, { Router } from 'express'
import type { DestinationStream, Logger } from 'pino'
import { bodyErrors } from './api/body.js'
import { decisionRoutes } from './api/decision-routes.js'
import type { ApiDeps, SessionDirectory } from './api/deps.js'
import { policyRoutes } from './api/policy-routes.js'
import { sessionRoutes } from './api/session-routes.js'
import { wellKnownRoutes } from './api/well-known.js'
import { createAuditLog, type AuditLog } from './audit/audit-log.js'
import { createAuthorizer, type Authorizer } from './authorize.js'
import type { Config } from './config.js'
import { sendError, sendThrown } from './http/errors.js'
import { createEnforce, type Enforce } from './http/enforce.js'
import { sdkRoutes } from './http/sdk-route.js'
import { createLivePolicy, type LivePolicy } from './live-policy.js'
import { createLogger } from './logger.js'
import { createMetrics, type Metrics } from './metrics.js'
import { createSessionRegistry, type SessionRegistry } from './sessions/registry.js'
import { createMemoryStore } from './store/memory-store.js'
import { createRedisStore } from './store/redis-store.js'
import type { PolicyStore } from './store/types.js'
import {
  createKeyRing,
  createSessionTokens,
  createTokenIssuer,
  createVerifier,
  type KeyRing,
  type SessionTokens,
  type Verifier,
} from './tokens/index.js'

export interface EnforcerOptions {
  config: Config
  /** @default a RedisStore on `config.redisUrl`, else a MemoryStore */
  store?: PolicyStore
  /** The root logger; modules log through children of it. @default pino at `config.logLevel` */
  logger?: Logger
  /** Where audit lines go instead of stdout or `config.auditFile` (tests capture them here). */
  auditStream?: DestinationStream
  /** Live sessions across nodes for `GET /v1/sessions`. @default the store's directory */
  directory?: SessionDirectory
}

/** A composed enforcer node: mount `router` in an express app and guard routes with `enforce`. */
export interface Enforcer {
  config: Config
  /** Vigil's own routes: `/v1/*`, `/.well-known/*`, `/healthz`, `/readyz`, `/metrics`. */
  router: Router
  /** `enforce(action, resourceOf, options?)`: the express middleware factory. */
  enforce: Enforce
  authorizer: Authorizer
  live: LivePolicy
  store: PolicyStore
  keyRing: KeyRing
  verifier: Verifier
  sessions: SessionTokens
  metrics: Metrics
  audit: AuditLog
  logger: Logger
  /** This node's live sessions, indexed for re-evaluation (the realtime layer fills it). */
  registry: SessionRegistry
  /** Stops following the store, flushes the audit log, closes the store if it opened it. */
  close(): Promise<void>
}

/**
 * Composes tokens, the live policy, enforcement, the API, audit and metrics into one node.
 * The library entry for embedding Vigil in an existing express app; `vigil` (main.ts) runs it
 * standalone.
 *
 * @example
 * ```ts
 * const vigil = await createEnforcer({ config })
 * app.use(vigil.router)
 * app.get('/api/docs/:id', vigil.enforce('doc:read', (req) => `doc/${req.params.id}`), readDoc)
 * ```
 */
export async function createEnforcer(options: EnforcerOptions): Promise<Enforcer> {
  const { config } = options
  const logger = options.logger ?? createLogger({ level: config.logLevel, nodeId: config.nodeId })
  const ownsStore = !options.store
  const store =
    options.store ??
    (config.redisUrl
      ? createRedisStore({
          url: config.redisUrl,
          prefix: config.redisPrefix,
          // A healthy quiet tail must report contact well inside the staleness bound.
          blockMs: Math.min(1000, Math.floor(config.maxStalenessMs / 3)),
        })
      : createMemoryStore())
  if (store.kind === 'memory') {
    logger.warn('no REDIS_URL: using the in-memory single-node store (nothing is shared or kept)')
  }

  const keyRing = createKeyRing({
    store,
    alg: config.signingAlg,
    maxTokenLifetimeS: config.accessTtlS,
    clockToleranceS: config.clockToleranceS,
  })
  await keyRing.init()
  const live = createLivePolicy({
    store,
    maxStalenessMs: config.maxStalenessMs,
    logger: logger.child({ module: 'policy' }),
    onLag: (ms) => metrics.applyLag(ms),
  })
  const registry = createSessionRegistry()
  const metrics = createMetrics(
    {
      policyVersion: () => live.current().version,
      sinceContactMs: () => live.sinceContactMs(),
      stale: () => live.isStale(),
      liveSessions: () => registry.size,
    },
    config.nodeId,
  )
  await live.start()
  live.on('update', (update) => {
    if (update.entry?.change.type === 'keys.rotated') {
      keyRing.reload().catch((err) => logger.error({ err }, 'key ring reload failed'))
    }
  })

  const verifier = createVerifier({
    keyRing,
    issuer: config.issuer,
    audience: config.audience,
    clockToleranceS: config.clockToleranceS,
    trustedIssuers: config.trustedIssuers,
  })
  const issuer = createTokenIssuer({
    keyRing,
    issuer: config.issuer,
    audience: config.audience,
    accessTtlS: config.accessTtlS,
  })
  const sessions = createSessionTokens({
    store,
    issuer,
    accessTtlS: config.accessTtlS,
    refreshTtlS: config.refreshTtlS,
    // A refresh is rare and mints new credentials: decide it on the store's latest version.
    isRevoked: async (p) => {
      await live.ensureFresh()
      return live.current().revocation(p) !== null
    },
  })
  const audit = createAuditLog({
    nodeId: config.nodeId,
    file: config.auditFile,
    ...(options.auditStream ? { stream: options.auditStream } : {}),
  })
  const authorizer = createAuthorizer({ verifier, live, audit, metrics })

  const deps: ApiDeps = {
    apiKey: config.apiKey,
    issuer: config.issuer,
    store,
    live,
    authorizer,
    keyRing,
    sessions,
    audit,
    metrics,
    directory: options.directory ?? { list: () => store.listLiveSessions() },
    logger: logger.child({ module: 'api' }),
  }
  const router = Router()
  router.use(wellKnownRoutes(deps))
  router.use(sdkRoutes())
  router.use(sessionRoutes(deps))
  router.use(policyRoutes(deps))
  router.use(decisionRoutes(deps))
  router.use('/v1', (_req, res) => sendError(res, 'not_found', 'no such API endpoint'))
  router.use(bodyErrors)
  router.use(function apiErrors(err: unknown, _req, res, _next: express.NextFunction) {
    deps.logger.error({ err }, 'unhandled API error')
    sendThrown(res, err)
  } as express.ErrorRequestHandler)

  return {
    config,
    router,
    enforce: createEnforce(authorizer, audit),
    authorizer,
    live,
    store,
    keyRing,
    verifier,
    sessions,
    metrics,
    audit,
    logger,
    registry,
    async close() {
      await live.stop()
      await audit.flush()
      if (ownsStore) await store.close()
    },
  }
}
