import { Router } from 'express'
import { z } from 'zod'
import { bearerToken } from '../http/bearer.js'
import { sendError, sendThrown } from '../http/errors.js'
import { ISSUER_SEPARATOR, isSubjectKey } from '../policy/index.js'
import { Subject } from '../policy/schema.js'
import { checkCustomClaims } from '../tokens/index.js'
import { requireAdmin } from './auth.js'
import { body, validate } from './body.js'
import type { ApiDeps } from './deps.js'

const SessionBody = z.strictObject({
  // `|` joins an external issuer and its subject (`https://idp.example|dave`): a local subject
  // holding one could pose as that issuer's user.
  sub: Subject.refine((sub) => !sub.includes(ISSUER_SEPARATOR), {
    message: `must not contain ${ISSUER_SEPARATOR}, which marks an external issuer's subject`,
  }),
  claims: z.record(z.string(), z.unknown()).optional(),
})

/**
 * Sessions: mint a session for a subject (service API), read one's own live capabilities, list
 * live sessions. The token endpoint that rotates a session's tokens is `token-route.ts`.
 */
export function sessionRoutes(deps: ApiDeps): Router {
  const router = Router()
  const admin = requireAdmin(deps)

  router.post('/v1/sessions', admin, body(), async (req, res) => {
    const input = validate(res, SessionBody, req.body)
    if (!input) return
    // Minting while the store lost state could hand a session to a subject it forgot was revoked.
    const failure = deps.live.failure()
    if (failure) return sendError(res, failure.code, failure.message)
    const claims = checkCustomClaims(input.claims)
    if (!claims.ok) {
      const path = claims.path === '(root)' ? 'claims' : `claims.${claims.path}`
      return sendError(res, 'invalid_request', `${path}: ${claims.message}`, [
        { path, message: claims.message },
      ])
    }
    // Subjects share the binding namespace with groups and roles (see isSubjectKey): a session
    // for `group:admins` would be a subject the policy never recognises, so it is refused here.
    if (!isSubjectKey(input.sub, deps.live.current().policy)) {
      return sendError(
        res,
        'invalid_request',
        'sub: must not be * or start with a group or role prefix',
        [{ path: 'sub', message: 'must not be * or start with a group or role prefix' }],
      )
    }
    const revoked = deps.live.current().revocation({ sub: input.sub, claims: input.claims ?? {} })
    if (revoked && revoked.reason === 'subject_revoked') {
      return sendError(res, 'forbidden', `subject ${input.sub} is revoked (${revoked.detail})`)
    }
    try {
      const pair = await deps.sessions.create({
        sub: input.sub,
        ...(input.claims ? { claims: input.claims } : {}),
      })
      res.status(201).setHeader('Cache-Control', 'no-store').json(pair)
    } catch (err) {
      sendThrown(res, err)
    }
  })

  router.get('/v1/me', async (req, res) => {
    const token = bearerToken(req)
    if (token === null) return sendError(res, 'token_invalid', 'not a Bearer token')
    const who = await deps.authorizer.authenticate(token, { transport: 'api' })
    if (!who.ok) return sendError(res, who.code, who.message)
    const policy = deps.live.current()
    res.json({
      sub: who.principal.sub,
      sid: who.principal.sid,
      exp: who.principal.exp,
      capabilities: policy.capabilities(who.principal),
      version: policy.version,
    })
  })

  router.get('/v1/sessions', admin, async (_req, res) => {
    try {
      res.json({ version: deps.live.current().version, sessions: await deps.directory.list() })
    } catch (err) {
      sendThrown(res, err)
    }
  })

  return router
}
