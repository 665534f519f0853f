import {
  Router,
  type ErrorRequestHandler,
  type Request,
  type RequestHandler,
  type Response,
} from 'express'
import { z } from 'zod'
import { VigilError } from '@vigil-enforcer/client/protocol'
import type { CorsRoute } from '../http/cors.js'
import { STATUS } from '../http/errors.js'
import { formatIssues } from '../policy/schema.js'
import { KeyedBuckets, type BucketLimit } from '../token-bucket.js'
import { parseRefreshToken } from '../tokens/refresh-token.js'
import { body, bodyFailure } from './body.js'
import { clientKey } from './client-key.js'
import type { ApiDeps } from './deps.js'

/**
 * How often the token endpoint may be called. A session refreshes once per access-token lifetime
 * (minutes), a little more around reconnects; anything near these limits is a bug or an attack.
 */
export interface TokenRateLimit {
  /** Per refresh family (one session's chain of tokens). @default { perSecond: 0.1, burst: 10 } */
  perFamily: BucketLimit
  /**
   * Per client address (an IPv6 client by its /64). Behind a proxy, set express's `trust proxy`
   * so the address is the client's, not the proxy's. @default { perSecond: 20, burst: 200 }
   */
  perClient: BucketLimit
  /** Families and addresses remembered at most, each; the least recently seen go. @default 10000 */
  maxKeys: number
}

export const TOKEN_RATE_LIMIT_DEFAULTS: TokenRateLimit = {
  perFamily: { perSecond: 0.1, burst: 10 },
  perClient: { perSecond: 20, burst: 200 },
  maxKeys: 10_000,
}

/** The `error` codes this endpoint answers with (RFC 6749 §5.2, and §4.1.2.1 for the 5xx). */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'temporarily_unavailable'
  | 'server_error'

/**
 * A parameter as RFC 6749 §3.2 reads it: sent without a value means omitted, and sent twice
 * (a form parser's array) is malformed.
 */
const Param = (max: number) =>
  z.preprocess(
    (value) => (value === '' ? undefined : value),
    z.string({ error: 'must be sent once, as a string' }).max(max).optional(),
  )

/** Unknown parameters are ignored, not refused (RFC 6749 §3.2): clients send `client_id`, `scope`. */
const TokenParams = z.object(
  { grant_type: Param(100), refresh_token: Param(512) },
  { error: 'the body must be an object of parameters' },
)

/**
 * Sends an RFC 6749 §5.2 error: `{"error": …, "error_description": …}`. The description is ours,
 * in the printable ASCII the RFC allows (no `"` or `\`), and never echoes a presented token.
 */
export function sendOAuthError(
  res: Response,
  status: number,
  error: OAuthErrorCode,
  description: string,
  extra: Record<string, string> = {},
): void {
  const error_description = description.replace(/["\\]/g, "'").replace(/[^\x20-\x7e]/g, '?')
  res.status(status).json({ error, error_description, ...extra })
}

/** RFC 6749 §5.1: no answer of the token endpoint may be cached, success or not. */
const noStore: RequestHandler = function noStore(_req, res, next) {
  res.setHeader('Cache-Control', 'no-store')
  res.setHeader('Pragma', 'no-cache')
  next()
}

/**
 * The token endpoint's CORS (`http/cors.ts`): its preflights and refusals are no-store too, and a
 * foreign origin is refused in RFC 6749's shape — before a refresh token it cannot read is spent.
 */
export const TOKEN_CORS: CorsRoute = {
  methods: ['POST'],
  headers: { 'Cache-Control': 'no-store', Pragma: 'no-cache' },
  refuse: (res, message) => sendOAuthError(res, 403, 'unauthorized_client', message),
}

/** A body the endpoint cannot read (malformed JSON, too large, wrong type) in RFC 6749's shape. */
const tokenBodyErrors: ErrorRequestHandler = function tokenBodyErrors(err, _req, res, next) {
  const failure = bodyFailure(err)
  if (!failure) return next(err)
  const status = failure.code === 'payload_too_large' ? 413 : 400
  sendOAuthError(res, status, 'invalid_request', failure.message)
}

/**
 * `POST /v1/token`: the OAuth 2.0 refresh grant (RFC 6749 §6). The refresh token is the
 * credential; it is rotated on every use, and a replay of a spent one revokes its session.
 * Errors follow §5.2, so standard OAuth clients parse them. Calls are rate limited per client
 * address (before the body is read) and per refresh family, answered 429 with `Retry-After`.
 *
 * @example
 * ```ts
 * router.use(tokenRoute(deps, { perClient: { perSecond: 50, burst: 500 } }))
 * ```
 */
export function tokenRoute(deps: ApiDeps, limits: Partial<TokenRateLimit> = {}): Router {
  const log = deps.logger.child({ route: 'token' })
  const limit = { ...TOKEN_RATE_LIMIT_DEFAULTS, ...limits }
  const families = new KeyedBuckets(limit.perFamily, limit.maxKeys)
  const clients = new KeyedBuckets(limit.perClient, limit.maxKeys)

  /** Answers 429 and returns true when `buckets` has nothing left for `key`. */
  function limited(res: Response, buckets: KeyedBuckets, key: string, what: string): boolean {
    const taken = buckets.take(key, Date.now())
    if (taken.ok) return false
    const seconds = Math.max(1, Math.ceil(taken.retryInMs / 1000))
    res.setHeader('Retry-After', String(seconds))
    const description = `too many token requests ${what}; retry in ${seconds} s`
    sendOAuthError(res, 429, 'temporarily_unavailable', description)
    return true
  }

  // Before the body is read: a client over its budget costs no parsing, hashing or store read.
  const perClient: RequestHandler = function tokenClientLimit(req, res, next) {
    const key = clientKey(req.ip ?? req.socket.remoteAddress)
    if (!limited(res, clients, key, 'from this client')) next()
  }

  const readBody = body({
    form: true,
    // A wrong content type is a malformed request here (§5.2 knows no 415).
    refuse: (res, _code, message) => sendOAuthError(res, 400, 'invalid_request', message),
  })

  async function token(req: Request, res: Response): Promise<void> {
    const parsed = TokenParams.safeParse(req.body)
    if (!parsed.success) {
      const first = formatIssues(parsed.error)[0]!
      const where = first.path === '(root)' ? '' : `${first.path}: `
      return sendOAuthError(res, 400, 'invalid_request', `${where}${first.message}`)
    }
    const { grant_type: grant, refresh_token: refreshToken } = parsed.data
    if (grant === undefined) {
      return sendOAuthError(res, 400, 'invalid_request', 'grant_type: required')
    }
    if (grant !== 'refresh_token') {
      return sendOAuthError(res, 400, 'unsupported_grant_type', 'only refresh_token is supported')
    }
    if (refreshToken === undefined) {
      return sendOAuthError(res, 400, 'invalid_request', 'refresh_token: required')
    }
    // Keyed by the family secret's hash, not the session id: knowing someone's session id must
    // not let a client spend that session's budget. A token of no family is refused unread.
    const family = parseRefreshToken(refreshToken)?.familyHash
    if (family !== undefined && limited(res, families, family, 'for this session')) return
    try {
      const result = await deps.sessions.refresh(refreshToken)
      if (!result.ok) {
        const description = `the refresh token was refused (${result.detail})`
        return sendOAuthError(res, 400, 'invalid_grant', description, { reason: result.detail })
      }
      res.json(result.pair)
    } catch (err) {
      // The store or the policy could not be reached: worth a retry, unlike a refused grant.
      if (err instanceof VigilError && STATUS[err.code] === 503) {
        return sendOAuthError(res, 503, 'temporarily_unavailable', err.message)
      }
      log.error({ err }, 'refresh failed')
      sendOAuthError(res, 500, 'server_error', 'internal error')
    }
  }

  const router = Router()
  router.post('/v1/token', noStore, perClient, readBody, token, tokenBodyErrors)
  return router
}
