import { createHash } from 'node:crypto'
import express, { Router } from 'express'
import { VigilError } from '@vigil-enforcer/client/protocol'
import type { DestinationStream, Logger } from 'pino'
import { bodyErrors } from './api/body.js'
import { decisionRoutes } from './api/decision-routes.js'
import type { ApiDeps, SessionDirectory } from './api/deps.js'
import { policyRoutes } from './api/policy-routes.js'
import { sessionRoutes } from './api/session-routes.js'
import { TOKEN_CORS, tokenRoute, type TokenRateLimit } from './api/token-route.js'
import { storeRoutes } from './api/store-routes.js'
import { wellKnownRoutes } from './api/well-known.js'
import { createAuditLog, type AuditLog } from './audit/audit-log.js'
import { createAuthorizer, type Authorizer } from './authorize.js'
import type { Config } from './config.js'
import { corsFor } from './http/cors.js'
import { sendError, sendThrown } from './http/errors.js'
import { createEnforce, type Enforce } from './http/enforce.js'
import { sdkRoutes } from './http/sdk-route.js'
import { createLivePolicy, type LivePolicy } from './live-policy.js'
import { createLogger } from './logger.js'
import { createMetrics, type Metrics } from './metrics.js'
import { createSessionRegistry, type SessionRegistry } from './sessions/registry.js'
import { createMemoryStore } from './store/memory-store.js'
import { createRedisStore } from './store/redis-store.js'
import { describeTopology } from './store/redis-connection.js'
import { createStoreHealth } from './store/store-health.js'
import { PRUNE_GRACE_S } from './store/pruning.js'
import { startPruner } from './store/pruner.js'
import type { DeploymentIdentity, PolicyStore } from './store/types.js'
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
  /** Rate limits of `POST /v1/token`, per refresh family and per client address. */
  tokenRateLimit?: Partial<TokenRateLimit>
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
  /**
   * Set when this node did not generate the API key it accepts: the deployment's development key
   * was generated (and printed) by that node. `main` says so instead of printing its own.
   */
  sharedApiKeyFrom: string | undefined
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
  let { config } = options
  const logger = options.logger ?? createLogger({ level: config.logLevel, nodeId: config.nodeId })
  const ownsStore = !options.store
  // Made before the store: its connection reports from the first moment; metrics read it later.
  const storeHealth = !options.store && config.redis ? createStoreHealth() : undefined
  const store =
    options.store ??
    (config.redis
      ? createRedisStore({
          connection: config.redis,
          prefix: config.redisPrefix,
          // A healthy quiet tail must report contact well inside the staleness bound.
          blockMs: Math.min(1000, Math.floor(config.maxStalenessMs / 3)),
          waitReplicas: config.redisWait.replicas,
          waitTimeoutMs: config.redisWait.timeoutMs,
          ...(storeHealth ? { health: storeHealth } : {}),
        })
      : createMemoryStore())
  if (store.kind === 'memory') {
    logger.warn('no REDIS_URL: using the in-memory single-node store (nothing is shared or kept)')
  } else if (config.redis && !options.store) {
    logger.info(
      { store: describeTopology(config.redis), waitReplicas: config.redisWait.replicas },
      'policy store: Redis',
    )
  }

  // One deployment, one issuer: the first node on a store records its identity there, and the
  // others adopt it (or refuse to start when their own VIGIL_ISSUER disagrees).
  const identity: DeploymentIdentity = {
    issuer: config.issuer,
    ...(config.apiKeyGenerated
      ? { apiKeySha256: sha256Hex(config.apiKey), apiKeyNode: config.nodeId }
      : {}),
  }
  const deployment = await store.claimDeployment(identity)
  if (deployment.issuer !== config.issuer) {
    if (config.issuerConfigured) {
      if (ownsStore) await store.close()
      throw new VigilError(
        'conflict',
        `VIGIL_ISSUER is "${config.issuer}" but this store's deployment issues as ` +
          `"${deployment.issuer}": give every node sharing the store the same VIGIL_ISSUER`,
      )
    }
    config = { ...config, issuer: deployment.issuer }
    logger.info({ issuer: config.issuer }, "adopted the deployment's issuer from the store")
  }
  const apiKeySha256 = config.apiKeyGenerated ? deployment.apiKeySha256 : undefined
  const sharedKeyFrom =
    apiKeySha256 && apiKeySha256 !== identity.apiKeySha256 ? deployment.apiKeyNode : undefined

  const keyRing = createKeyRing({
    store,
    alg: config.signingAlg,
    maxTokenLifetimeS: config.accessTtlS,
    clockToleranceS: config.clockToleranceS,
  })
  await keyRing.init()
  const audit = createAuditLog({
    nodeId: config.nodeId,
    file: config.auditFile,
    ...(options.auditStream ? { stream: options.auditStream } : {}),
  })
  const live = createLivePolicy({
    store,
    maxStalenessMs: config.maxStalenessMs,
    logger: logger.child({ module: 'policy' }),
    onLag: (ms) => metrics.applyLag(ms),
    onLoss: config.storeLoss,
    // An emptied store forgot who the deployment is too: record it again before restoring.
    reclaim: async () => void (await store.claimDeployment({ ...identity, issuer: config.issuer })),
    heldKeys: () => keyRing.held(),
    actor: `node:${config.nodeId}`,
    hooks: {
      lost: (reason) => metrics.storeLoss(reason),
      recovered: (how) => metrics.storeRecovered(how),
      restored(record) {
        audit.adminChange({
          actor: record.actor,
          change: 'store.restored',
          target: `${record.revocations} revocations, ${record.keys} keys`,
          versionBefore: record.versionBefore,
          versionAfter: record.versionAfter,
        })
      },
    },
  })
  const registry = createSessionRegistry()
  const metrics = createMetrics(
    {
      policyVersion: () => live.current().version,
      sinceContactMs: () => live.sinceContactMs(),
      stale: () => live.isStale(),
      storeReset: () => live.failure()?.code === 'store_reset',
      liveSessions: () => registry.size,
      ...(storeHealth ? { storeHealth } : {}),
    },
    config.nodeId,
  )
  await live.start()
  live.on('update', (update) => {
    // A rotation, or a whole new document (a restore may have written keys back): re-read keys.
    if (update.entry?.change.type === 'keys.rotated' || update.affected.all) {
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
    clockToleranceS: config.clockToleranceS,
    // A refresh is rare and mints new credentials: decide it on the store's latest version.
    isRevoked: async (p) => {
      await live.ensureFresh()
      return live.current().revocation(p) !== null
    },
  })
  const authorizer = createAuthorizer({ verifier, live, audit, metrics })
  // Keeps the store bounded by live sessions: revocations no token can use leave the document.
  const pruner = startPruner({
    store,
    logger: logger.child({ module: 'pruner' }),
    paused: () => live.failure() !== null,
    prune: { graceS: Math.max(PRUNE_GRACE_S, config.clockToleranceS) },
  })

  const deps: ApiDeps = {
    apiKey: config.apiKey,
    apiKeySha256,
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
    decisionBudgetMs: config.decisionBudgetMs,
  }
  const router = Router()
  // What a browser SDK on another origin calls; the bundle itself is public (`*`, sdk-route.ts).
  const cors = corsFor({ origins: config.allowedOrigins, credentials: config.corsCredentials })
  router.use('/v1/token', cors(TOKEN_CORS))
  router.use('/v1/me', cors({ methods: ['GET'] }))
  router.use('/.well-known', cors({ methods: ['GET'] }))
  router.use(wellKnownRoutes(deps))
  router.use(sdkRoutes())
  router.use(sessionRoutes(deps))
  router.use(tokenRoute(deps, options.tokenRateLimit))
  router.use(policyRoutes(deps))
  router.use(decisionRoutes(deps))
  router.use(storeRoutes({ ...deps, storeLoss: config.storeLoss }))
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
    sharedApiKeyFrom: sharedKeyFrom,
    async close() {
      pruner.stop()
      await live.stop()
      await audit.flush()
      if (ownsStore) await store.close()
    },
  }
}

const sha256Hex = (value: string): string => createHash('sha256').update(value).digest('hex')
