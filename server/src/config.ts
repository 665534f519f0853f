import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import { z } from 'zod'
import type { HostPort, RedisTopology } from './store/redis-connection.js'

/**
 * The one place that reads the environment. Everything else receives the typed `Config`.
 * Every problem is reported at once, naming the variable, so an operator fixes a bad deployment
 * in one round instead of one variable per restart.
 */

const intFrom = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max))

/** `host:port,host:port` (IPv6 as `[::1]:6379`) → a non-empty list of addresses. */
const HostPorts = z.string().transform((raw, ctx): HostPort[] => {
  const out: HostPort[] = []
  const items = raw.split(',').map((s) => s.trim())
  for (const [i, item] of items.entries()) {
    const m = /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]/@]+):(\d{1,5})$/.exec(item)
    const port = Number(m?.[2])
    if (!m || port < 1 || port > 65535) {
      // The item is not echoed: a mistaken `user:password@host` must not reach a log.
      ctx.addIssue({ code: 'custom', message: `entry ${i + 1} is not host:port` })
      return z.NEVER
    }
    out.push({ host: m[1]!.replace(/^\[|\]$/g, ''), port })
  }
  return out
})

const TrustedIssuers = z.array(
  z.strictObject({
    issuer: z.string().min(1),
    jwks_uri: z.url(),
    audience: z.string().min(1),
    algorithms: z.array(z.enum(['EdDSA', 'ES256', 'RS256', 'PS256'])).optional(),
    /** Its `groups`/`tenant` claims name the local groups instead of its own. @default false */
    shared_groups: z.boolean().optional(),
    /** Longest token lifetime (`exp` − `iat`) accepted from it, seconds. @default 3600 */
    max_token_lifetime: z
      .number()
      .int()
      .min(1)
      .max(7 * 24 * 3600)
      .optional(),
  }),
)

const EnvSchema = z.object({
  PORT: intFrom(0, 65535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  REDIS_URL: z
    .url()
    .refine((u) => /^rediss?:\/\//.test(u), 'must be a redis:// or rediss:// URL')
    .optional(),
  REDIS_SENTINELS: HostPorts.optional(),
  REDIS_SENTINEL_NAME: z.string().trim().min(1).max(200).optional(),
  REDIS_SENTINEL_PASSWORD: z.string().min(1).optional(),
  REDIS_CLUSTER_NODES: HostPorts.optional(),
  REDIS_USERNAME: z.string().min(1).optional(),
  REDIS_PASSWORD: z.string().min(1).optional(),
  VIGIL_REDIS_WAIT_REPLICAS: intFrom(0, 100).default(0),
  VIGIL_REDIS_WAIT_TIMEOUT_MS: intFrom(1, 60_000).default(1000),
  VIGIL_API_KEY: z.string().min(24, 'must be at least 24 characters').optional(),
  VIGIL_ISSUER: z.url().optional(),
  VIGIL_AUDIENCE: z.string().min(1).default('vigil'),
  VIGIL_ACCESS_TTL: intFrom(5, 3600).default(300),
  VIGIL_REFRESH_TTL: intFrom(60, 90 * 24 * 3600).default(14 * 24 * 3600),
  VIGIL_ALLOWED_ORIGINS: z.string().optional(),
  VIGIL_CORS_CREDENTIALS: z.enum(['true', 'false', '1', '0']).optional(),
  VIGIL_MAX_STALENESS_MS: intFrom(100, 600_000).default(5000),
  VIGIL_SIGNING_ALG: z.enum(['EdDSA', 'ES256']).default('EdDSA'),
  VIGIL_CLOCK_TOLERANCE: intFrom(0, 300).default(30),
  VIGIL_DECISION_BUDGET_MS: intFrom(10, 60_000).default(500),
  VIGIL_TRUSTED_ISSUERS: z
    .string()
    .transform((raw, ctx) => {
      try {
        return JSON.parse(raw) as unknown
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be JSON' })
        return z.NEVER
      }
    })
    .pipe(TrustedIssuers)
    .optional(),
  VIGIL_AUDIT_FILE: z.string().min(1).optional(),
  VIGIL_NODE_ID: z.string().min(1).max(100).optional(),
  VIGIL_REDIS_PREFIX: z.string().min(1).default('{vigil}:'),
  VIGIL_STORE_LOSS: z.enum(['restore', 'fail-closed']).default('restore'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  NODE_ENV: z.string().optional(),
})

export interface Config {
  port: number
  host: string
  nodeId: string
  /** `REDIS_URL` as given; undefined for the other topologies. Prefer `redis`. */
  redisUrl: string | undefined
  /** Where the shared store lives (URL, Sentinel or Cluster). Absent: the in-memory store. */
  redis: RedisTopology | undefined
  /** Acknowledge a change only once `replicas` replicas confirm it (`WAIT`); 0 = don't wait. */
  redisWait: { replicas: number; timeoutMs: number }
  redisPrefix: string
  apiKey: string
  /** True when the API key was generated at start (dev only); `main` prints it once. */
  apiKeyGenerated: boolean
  issuer: string
  /** True when `VIGIL_ISSUER` was set; otherwise a node adopts the issuer its store names. */
  issuerConfigured: boolean
  audience: string
  accessTtlS: number
  refreshTtlS: number
  clockToleranceS: number
  /** Decision time one `POST /v1/decisions` (or `vigil:decide`) batch may use, ms. */
  decisionBudgetMs: number
  signingAlg: 'EdDSA' | 'ES256'
  trustedIssuers: {
    issuer: string
    jwksUrl: string
    audience: string
    algorithms?: string[]
    sharedGroups?: boolean
    maxTokenLifetimeS?: number
  }[]
  /** Origins allowed to open sockets and to call the browser-facing routes across origins. */
  allowedOrigins: string[]
  /** CORS answers carry `Access-Control-Allow-Credentials: true` (never with the `*` origin). */
  corsCredentials: boolean
  maxStalenessMs: number
  /** When the store lost acknowledged state: write it back from this node, or deny until told. */
  storeLoss: 'restore' | 'fail-closed'
  auditFile: string | undefined
  logLevel: z.output<typeof EnvSchema>['LOG_LEVEL']
}

export type ConfigResult = { ok: true; config: Config } | { ok: false; problems: string[] }

/**
 * Parses the environment once.
 *
 * @example
 * ```ts
 * const result = loadConfig(process.env)
 * if (!result.ok) { console.error(result.problems.join('\n')); process.exit(1) }
 * ```
 */
export function loadConfig(env: Record<string, string | undefined>): ConfigResult {
  const parsed = EnvSchema.safeParse(env)
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const [name, ...rest] = issue.path.map(String)
      const where = rest.length > 0 ? ` (at ${rest.join('.')})` : ''
      return `${name}${where}: ${issue.message}`
    })
    return { ok: false, problems }
  }
  const e = parsed.data
  const production = e.NODE_ENV === 'production'
  if (production && !e.VIGIL_API_KEY) {
    return { ok: false, problems: ['VIGIL_API_KEY: required when NODE_ENV=production'] }
  }
  const redis = redisTopology(e)
  if (!redis.ok) return redis
  const publicHost = e.HOST === '0.0.0.0' || e.HOST === '::' ? 'localhost' : e.HOST
  const ownOrigins = [`http://localhost:${e.PORT}`, `http://127.0.0.1:${e.PORT}`]
  const origins = e.VIGIL_ALLOWED_ORIGINS?.split(',')
    .map((o) => o.trim())
    .filter(Boolean)
  const badOrigin = origins?.find((o) => o !== '*' && !/^https?:\/\/[^/\s]+$/.test(o))
  if (badOrigin !== undefined) {
    return {
      ok: false,
      problems: [`VIGIL_ALLOWED_ORIGINS: "${badOrigin}" is not an origin (scheme://host[:port])`],
    }
  }
  const corsCredentials = e.VIGIL_CORS_CREDENTIALS === 'true' || e.VIGIL_CORS_CREDENTIALS === '1'
  if (corsCredentials && origins?.includes('*')) {
    // Any origin with credentials would let every site on the web act as the signed-in user.
    return { ok: false, problems: ['VIGIL_CORS_CREDENTIALS: cannot be used with the * origin'] }
  }
  return {
    ok: true,
    config: {
      port: e.PORT,
      host: e.HOST,
      nodeId: e.VIGIL_NODE_ID ?? `${hostname()}:${e.PORT}:${process.pid}`,
      redisUrl: e.REDIS_URL,
      redis: redis.topology,
      redisWait: {
        replicas: e.VIGIL_REDIS_WAIT_REPLICAS,
        timeoutMs: e.VIGIL_REDIS_WAIT_TIMEOUT_MS,
      },
      redisPrefix: e.VIGIL_REDIS_PREFIX,
      apiKey: e.VIGIL_API_KEY ?? `vk_${randomBytes(24).toString('base64url')}`,
      apiKeyGenerated: !e.VIGIL_API_KEY,
      issuer: e.VIGIL_ISSUER ?? `http://${publicHost}:${e.PORT}`,
      issuerConfigured: e.VIGIL_ISSUER !== undefined,
      audience: e.VIGIL_AUDIENCE,
      accessTtlS: e.VIGIL_ACCESS_TTL,
      refreshTtlS: e.VIGIL_REFRESH_TTL,
      clockToleranceS: e.VIGIL_CLOCK_TOLERANCE,
      decisionBudgetMs: e.VIGIL_DECISION_BUDGET_MS,
      signingAlg: e.VIGIL_SIGNING_ALG,
      trustedIssuers: (e.VIGIL_TRUSTED_ISSUERS ?? []).map((t) => ({
        issuer: t.issuer,
        jwksUrl: t.jwks_uri,
        audience: t.audience,
        ...(t.algorithms ? { algorithms: t.algorithms } : {}),
        ...(t.shared_groups === undefined ? {} : { sharedGroups: t.shared_groups }),
        ...(t.max_token_lifetime === undefined ? {} : { maxTokenLifetimeS: t.max_token_lifetime }),
      })),
      allowedOrigins: origins && origins.length > 0 ? origins : ownOrigins,
      corsCredentials,
      maxStalenessMs: e.VIGIL_MAX_STALENESS_MS,
      storeLoss: e.VIGIL_STORE_LOSS,
      auditFile: e.VIGIL_AUDIT_FILE,
      logLevel: e.LOG_LEVEL,
    },
  }
}

type Env = z.output<typeof EnvSchema>

/** The one topology the environment names, or every reason it names none or several. */
function redisTopology(
  e: Env,
): { ok: true; topology: RedisTopology | undefined } | { ok: false; problems: string[] } {
  const problems: string[] = []
  const named = (
    [
      ['REDIS_URL', e.REDIS_URL],
      ['REDIS_SENTINELS', e.REDIS_SENTINELS],
      ['REDIS_CLUSTER_NODES', e.REDIS_CLUSTER_NODES],
    ] as const
  ).filter(([, value]) => value !== undefined)
  if (named.length > 1) {
    const names = named.map(([name]) => name)
    problems.push(
      `${names.join(', ')}: set only one of REDIS_URL, REDIS_SENTINELS, REDIS_CLUSTER_NODES`,
    )
  }
  if (e.REDIS_SENTINELS && !e.REDIS_SENTINEL_NAME) {
    problems.push("REDIS_SENTINEL_NAME: required with REDIS_SENTINELS (the master group's name)")
  }
  if (!e.REDIS_SENTINELS) {
    if (e.REDIS_SENTINEL_NAME) problems.push('REDIS_SENTINEL_NAME: only used with REDIS_SENTINELS')
    if (e.REDIS_SENTINEL_PASSWORD) {
      problems.push('REDIS_SENTINEL_PASSWORD: only used with REDIS_SENTINELS')
    }
  }
  for (const name of ['REDIS_USERNAME', 'REDIS_PASSWORD'] as const) {
    if (e[name] === undefined) continue
    if (e.REDIS_URL) problems.push(`${name}: put the credentials in REDIS_URL instead`)
    else if (named.length === 0) {
      problems.push(`${name}: only used with REDIS_SENTINELS or REDIS_CLUSTER_NODES`)
    }
  }
  if (named.length === 0 && e.VIGIL_REDIS_WAIT_REPLICAS > 0) {
    problems.push(
      'VIGIL_REDIS_WAIT_REPLICAS: needs a Redis store (REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES)',
    )
  }
  // Scripts and MULTI touch several keys at once; on a cluster they must share one slot.
  if (e.REDIS_CLUSTER_NODES && !/\{[^}]+\}/.test(e.VIGIL_REDIS_PREFIX)) {
    problems.push('VIGIL_REDIS_PREFIX: must contain a {…} hash tag with REDIS_CLUSTER_NODES')
  }
  if (problems.length > 0) return { ok: false, problems }
  const auth = {
    ...(e.REDIS_USERNAME ? { username: e.REDIS_USERNAME } : {}),
    ...(e.REDIS_PASSWORD ? { password: e.REDIS_PASSWORD } : {}),
  }
  if (e.REDIS_URL) return { ok: true, topology: { kind: 'url', url: e.REDIS_URL } }
  if (e.REDIS_SENTINELS) {
    return {
      ok: true,
      topology: {
        kind: 'sentinel',
        sentinels: e.REDIS_SENTINELS,
        name: e.REDIS_SENTINEL_NAME!,
        ...auth,
        ...(e.REDIS_SENTINEL_PASSWORD ? { sentinelPassword: e.REDIS_SENTINEL_PASSWORD } : {}),
      },
    }
  }
  if (e.REDIS_CLUSTER_NODES) {
    return { ok: true, topology: { kind: 'cluster', nodes: e.REDIS_CLUSTER_NODES, ...auth } }
  }
  return { ok: true, topology: undefined }
}
