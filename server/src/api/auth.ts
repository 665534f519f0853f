import { createHash, timingSafeEqual } from 'node:crypto'
import type { RequestHandler } from 'express'
import type { Authorizer } from '../authorize.js'
import { bearerToken } from '../http/bearer.js'
import { sendError, sendInvalidCredential } from '../http/errors.js'

/** The action a user's policy must grant (on resource `vigil`) to use the admin API. */
export const ADMIN_ACTION = 'vigil:admin'
export const ADMIN_RESOURCE = 'vigil'

const digest = (value: string): Buffer => createHash('sha256').update(value).digest()

/**
 * Guards the service and admin API: `Authorization: Bearer <VIGIL_API_KEY>` (compared in constant
 * time), or a user's own access token whose live policy grants `vigil:admin`. The caller's
 * identity for the audit log lands in `res.locals.actor` (`apikey:<id>` or `sub:<subject>`).
 *
 * @example
 * ```ts
 * router.put('/v1/policy', requireAdmin({ apiKey, authorizer }), putPolicy)
 * ```
 */
export function requireAdmin(options: {
  apiKey: string
  /** Hex SHA-256 of the key to accept instead (the deployment's shared development key). */
  apiKeySha256?: string | undefined
  authorizer: Authorizer
}): RequestHandler {
  if (options.apiKey.length < 16) throw new TypeError('apiKey must be at least 16 characters')
  const expected = options.apiKeySha256
    ? Buffer.from(options.apiKeySha256, 'hex')
    : digest(options.apiKey)
  if (expected.length !== 32) throw new TypeError('apiKeySha256 must be a hex SHA-256')
  const keyId = `apikey:${expected.toString('hex').slice(0, 8)}`
  return async function requireAdmin(req, res, next) {
    const presented = bearerToken(req)
    if (presented === undefined) {
      return sendError(res, 'unauthorized', 'an API key or an admin access token is required')
    }
    if (presented === null) {
      return sendError(res, 'unauthorized', 'the Authorization header is not a Bearer credential')
    }
    // Hashing first makes the comparison constant-time whatever the presented length.
    if (timingSafeEqual(digest(presented), expected)) {
      res.locals['actor'] = keyId
      return next()
    }
    if (presented.split('.').length !== 3) {
      return sendInvalidCredential(res, 'the API key is not valid')
    }
    const result = await options.authorizer.authorize(presented, ADMIN_ACTION, ADMIN_RESOURCE, {
      transport: 'api',
    })
    if (!result.ok) return sendError(res, result.code, result.message)
    res.locals['actor'] = `sub:${result.principal.sub}`
    next()
  }
}
