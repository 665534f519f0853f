import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import { z } from 'zod'

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

const TrustedIssuers = z.array(
  z.strictObject({
    issuer: z.string().min(1),
    jwks_uri: z.url(),
    audience: z.string().min(1),
    algorithms: z.array(z.enum(['EdDSA', 'ES256', 'RS256', 'PS256'])).optional(),
  }),
)

const EnvSchema = z.object({
  PORT: intFrom(0, 65535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  REDIS_URL: z
    .url()
    .refine((u) => /^rediss?:\/\//.test(u), 'must be a redis:// or rediss:// URL')
    .optional(),
  VIGIL_API_KEY: z.string().min(24, 'must be at least 24 characters').optional(),
  VIGIL_ISSUER: z.url().optional(),
  VIGIL_AUDIENCE: z.string().min(1).default('vigil'),
  VIGIL_ACCESS_TTL: intFrom(5, 3600).default(300),
  VIGIL_REFRESH_TTL: intFrom(60, 90 * 24 * 3600).default(14 * 24 * 3600),
  VIGIL_ALLOWED_ORIGINS: z.string().optional(),
  VIGIL_MAX_STALENESS_MS: intFrom(100, 600_000).default(5000),
  VIGIL_SIGNING_ALG: z.enum(['EdDSA', 'ES256']).default('EdDSA'),
  VIGIL_CLOCK_TOLERANCE: intFrom(0, 300).default(30),
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
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  NODE_ENV: z.string().optional(),
})

export interface Config {
  port: number
  host: string
  nodeId: string
  /** Absent: the in-memory single-node store. */
  redisUrl: string | undefined
  redisPrefix: string
  apiKey: string
  /** True when the API key was generated at start (dev only); `main` prints it once. */
  apiKeyGenerated: boolean
  issuer: string
  audience: string
  accessTtlS: number
  refreshTtlS: number
  clockToleranceS: number
  signingAlg: 'EdDSA' | 'ES256'
  trustedIssuers: { issuer: string; jwksUrl: string; audience: string; algorithms?: string[] }[]
  /** Origins allowed to open sockets and make credentialed cross-origin calls. */
  allowedOrigins: string[]
  maxStalenessMs: number
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
  return {
    ok: true,
    config: {
      port: e.PORT,
      host: e.HOST,
      nodeId: e.VIGIL_NODE_ID ?? `${hostname()}:${e.PORT}:${process.pid}`,
      redisUrl: e.REDIS_URL,
      redisPrefix: e.VIGIL_REDIS_PREFIX,
      apiKey: e.VIGIL_API_KEY ?? `vk_${randomBytes(24).toString('base64url')}`,
      apiKeyGenerated: !e.VIGIL_API_KEY,
      issuer: e.VIGIL_ISSUER ?? `http://${publicHost}:${e.PORT}`,
      audience: e.VIGIL_AUDIENCE,
      accessTtlS: e.VIGIL_ACCESS_TTL,
      refreshTtlS: e.VIGIL_REFRESH_TTL,
      clockToleranceS: e.VIGIL_CLOCK_TOLERANCE,
      signingAlg: e.VIGIL_SIGNING_ALG,
      trustedIssuers: (e.VIGIL_TRUSTED_ISSUERS ?? []).map((t) => ({
        issuer: t.issuer,
        jwksUrl: t.jwks_uri,
        audience: t.audience,
        ...(t.algorithms ? { algorithms: t.algorithms } : {}),
      })),
      allowedOrigins: origins && origins.length > 0 ? origins : ownOrigins,
      maxStalenessMs: e.VIGIL_MAX_STALENESS_MS,
      auditFile: e.VIGIL_AUDIT_FILE,
      logLevel: e.LOG_LEVEL,
    },
  }
}
