import type { NextFunction, Request, RequestHandler, Response } from 'express'
import type { AuditLog } from '../audit/audit-log.js'
import type { Authorized, Authorizer } from '../authorize.js'
import type { Decision } from '../policy/index.js'
import type { Principal } from '../policy/principal.js'
import { bearerCandidate, isB64Token } from './bearer.js'
import { sendError } from './errors.js'

// The global `Express.Request` that every express `Request` extends, not a module augmentation of
// `express-serve-static-core`: an app's own @types/express may keep that package where this one
// cannot resolve it (nested, or under pnpm), and the augmentation would silently not apply.
declare global {
  namespace Express {
    interface Request {
      /** Set by `enforce()` on allowed requests: who is asking and the decision that let them. */
      vigil?: { principal: Principal; decision: Decision }
    }
  }
}

export interface EnforceOptions {
  /**
   * `strong`: before deciding, catch up with the store's current version (one Redis read), so a
   * change acknowledged before this request began is always honoured. @default 'fast'
   */
  consistency?: 'fast' | 'strong'
}

/** The resource of a request: a fixed string, or derived from it (`req => 'doc/' + req.params.id`). */
export type ResourceOf = string | ((req: Request) => string)

/**
 * Builds the `enforce(action, resourceOf, options?)` middleware factory bound to one authorizer.
 * Each request is verified (through the verified-token cache) and decided against the node's live
 * policy; refused requests get RFC 6750 errors and never reach the route.
 *
 * @example
 * ```ts
 * const enforce = createEnforce(authorizer, audit)
 * app.put('/api/docs/:id', enforce('doc:write', (req) => `doc/${req.params.id}`), saveDoc)
 * ```
 */
export function createEnforce(authorizer: Authorizer, audit?: Pick<AuditLog, 'keepActions'>) {
  return function enforceFactory(
    action: string,
    resourceOf: ResourceOf,
    options: EnforceOptions = {},
  ): RequestHandler {
    if (typeof action !== 'string' || action === '') {
      throw new TypeError('enforce(action): action must be a non-empty string')
    }
    if (typeof resourceOf !== 'string' && typeof resourceOf !== 'function') {
      throw new TypeError('enforce(action, resourceOf): resourceOf must be a string or function')
    }
    // A route's action is named in code: its audit line fragment is worth keeping.
    audit?.keepActions([action])
    const opts = { transport: 'http', consistency: options.consistency ?? 'fast' } as const
    // No closure is created per request: this runs once per HTTP request on every guarded route.
    return function enforce(req: Request, res: Response, next: NextFunction): void {
      const token = bearerCandidate(req.headers.authorization)
      if (token === null) return notBearer(res)
      let resource: string
      try {
        resource = typeof resourceOf === 'string' ? resourceOf : resourceOf(req)
      } catch {
        return sendError(
          res,
          'invalid_request',
          'the resource of this request could not be determined',
        )
      }
      // A cached token on the fast path is decided without a single await. Only verified tokens
      // are ever cached, so a hit needs no syntax check either.
      const now = authorizer.authorizeNow(token, action, resource, opts)
      if (now) return finish(now, req, res, next)
      if (token !== undefined && !isB64Token(token)) return notBearer(res)
      authorizer
        .authorize(token, action, resource, opts)
        .then((result) => finish(result, req, res, next), next)
    }
  }
}

function notBearer(res: Response): void {
  sendError(res, 'token_invalid', 'the Authorization header is not a Bearer token')
}

function finish(result: Authorized, req: Request, res: Response, next: NextFunction): void {
  if (!result.ok) return sendError(res, result.code, result.message)
  req.vigil = { principal: result.principal, decision: result.decision }
  next()
}

export type Enforce = ReturnType<typeof createEnforce>
