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

const TokenBody = z.strictObject({
  grant_type: z.literal('refresh_token'),
  refresh_token: z.string().min(1).max(512),
  // OAuth clients commonly send these; they are accepted and ignored.
  client_id: z.string().max(200).optional(),
  scope: z.string().max(1000).optional(),
})

/**
 * Sessions and tokens: mint a session for a subject (service API), rotate a refresh token (the
 * refresh token is the credential), read one's own live capabilities, list live sessions.
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

  router.post('/v1/token', body({ form: true }), async (req, res) => {
    const input = validate(res, TokenBody, req.body)
    if (!input) return
    try {
      const result = await deps.sessions.refresh(input.refresh_token)
      res.setHeader('Cache-Control', 'no-store')
      if (!result.ok) {
        return sendError(res, 'invalid_grant', `the refresh token was refused (${result.detail})`, {
          reason: result.detail,
        })
      }
      res.json(result.pair)
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
