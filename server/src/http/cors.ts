import type { RequestHandler, Response } from 'express'
import { sendError } from './errors.js'

/** What every CORS route of one node shares: the allowed origins and the credentials mode. */
export interface CorsPolicy {
  /** `VIGIL_ALLOWED_ORIGINS`; `*` allows any origin (never together with credentials). */
  origins: string[]
  /** `VIGIL_CORS_CREDENTIALS`: answer `Access-Control-Allow-Credentials: true`. @default false */
  credentials: boolean
}

export interface CorsRoute {
  /** The methods the route serves, besides the preflight's OPTIONS. */
  methods: string[]
  /** Headers set on the answers the middleware sends itself (preflights, refusals). */
  headers?: Record<string, string>
  /** How a refused origin is answered. @default 403 `{error: {code: 'origin_forbidden'}}` */
  refuse?: (res: Response, message: string) => void
}

/** What the browser SDK sends: its bearer token, and a JSON body to the token endpoint. */
const ALLOW_HEADERS = 'authorization, content-type'
/** Read by the SDK on refusals: when to retry, and the RFC 6750 challenge. */
const EXPOSE_HEADERS = 'retry-after, www-authenticate'
/** A preflight is cached this long (Chromium caps it at two hours). */
const MAX_AGE_S = 600

/**
 * CORS for the routes a browser SDK on another origin calls (`/v1/token`, `/v1/me`,
 * `/.well-known/*`). An origin in the allow-list is answered with its own name in
 * `Access-Control-Allow-Origin` (`*` when any origin is allowed and credentials are off), and
 * preflights are answered here. A request whose `Origin` is neither allowed nor this node's own
 * host is refused with 403 before the route runs: a browser would hide the answer from the page
 * anyway, and a refresh it cannot read would still have spent the refresh token. A request
 * without `Origin` (same-origin GET, a service, curl) passes untouched.
 *
 * @example
 * ```ts
 * const cors = corsFor({ origins: config.allowedOrigins, credentials: false })
 * router.use('/v1/me', cors({ methods: ['GET'] }))
 * ```
 */
export function corsFor(policy: CorsPolicy) {
  const any = policy.origins.includes('*')
  if (any && policy.credentials) {
    // Reflecting every origin with credentials lets any site act as the user.
    throw new TypeError('CORS credentials cannot be combined with the * origin')
  }
  const origins = new Set(policy.origins)
  return function corsRoute(route: CorsRoute): RequestHandler {
    const methods = [...route.methods, 'OPTIONS'].join(', ')
    const extra = Object.entries(route.headers ?? {})
    const refuse =
      route.refuse ??
      ((res: Response, message: string) => sendError(res, 'origin_forbidden', message))
    return function cors(req, res, next) {
      // The answer depends on the Origin: caches must keep one per origin.
      res.vary('Origin')
      const origin = req.headers.origin
      const preflight = req.method === 'OPTIONS' && req.headers['access-control-request-method']
      if (origin === undefined) return preflight ? void res.status(204).end() : next()
      const allowed = any || origins.has(origin)
      if (!allowed && !(sameHost(origin, req.headers.host) && !preflight)) {
        for (const [name, value] of extra) res.setHeader(name, value)
        return refuse(res, 'this origin may not call this endpoint')
      }
      if (allowed) {
        res.setHeader('Access-Control-Allow-Origin', any ? '*' : origin)
        if (policy.credentials) res.setHeader('Access-Control-Allow-Credentials', 'true')
      }
      if (!preflight) {
        res.setHeader('Access-Control-Expose-Headers', EXPOSE_HEADERS)
        return next()
      }
      for (const [name, value] of extra) res.setHeader(name, value)
      res.setHeader('Access-Control-Allow-Methods', methods)
      res.setHeader('Access-Control-Allow-Headers', ALLOW_HEADERS)
      res.setHeader('Access-Control-Max-Age', String(MAX_AGE_S))
      res.status(204).end()
    }
  }
}

/** A browser sends `Origin` on same-origin POSTs too: a page of this very node is not foreign. */
function sameHost(origin: string, host: string | undefined): boolean {
  if (host === undefined) return false
  try {
    return new URL(origin).host === host.toLowerCase()
  } catch {
    return false
  }
}
