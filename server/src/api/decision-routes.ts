import { Router } from 'express'
import { z } from 'zod'
import type { DecisionBody } from '@vigil/client/protocol'
import type { Authorizer } from '../authorize.js'
import { Subject } from '../policy/schema.js'
import { requireAdmin } from './auth.js'
import { body, validate } from './body.js'
import type { ApiDeps } from './deps.js'

const MAX_BATCH = 1000
const Text = z.string().min(1).max(512)

const Query = z.union([
  z.strictObject({ token: z.string().min(1).max(8192), action: Text, resource: Text }),
  z.strictObject({
    subject: Subject,
    claims: z.record(z.string(), z.unknown()).optional(),
    action: Text,
    resource: Text,
  }),
])
export const DecisionRequest = z.union([Query, z.array(Query).min(1).max(MAX_BATCH)])
export type DecisionQuery = z.output<typeof Query>

/** A decision answer: a refused token is a deny with the refusal code as its reason. */
export type DecisionAnswer = DecisionBody & { code?: string }

/** Decides one query: by token (verified, revocations apply) or by bare subject. */
export async function decideQuery(
  authorizer: Authorizer,
  q: DecisionQuery,
  transport: 'api' | 'service',
  /** The node's policy version, reported when no decision was reached (a refused token). */
  version: number,
): Promise<DecisionAnswer> {
  const who = 'token' in q ? q.token : { sub: q.subject, claims: q.claims ?? {} }
  const r = await authorizer.authorize(who, q.action, q.resource, { transport })
  if (r.ok) return strip(r.decision)
  if (r.decision) return { ...strip(r.decision), code: r.code }
  return { allow: false, reason: r.code, code: r.code, version }
}

function strip(d: DecisionBody): DecisionBody {
  return d.rule === undefined
    ? { allow: d.allow, reason: d.reason, version: d.version }
    : { allow: d.allow, reason: d.reason, rule: d.rule, version: d.version }
}

/** `POST /v1/decisions`: one query or a batch of up to 1,000, for backend services. */
export function decisionRoutes(deps: ApiDeps): Router {
  const router = Router()
  router.post('/v1/decisions', requireAdmin(deps), body(), async (req, res) => {
    const input = validate(res, DecisionRequest, req.body)
    if (!input) return
    const version = deps.live.current().version
    if (!Array.isArray(input)) {
      return res.json(await decideQuery(deps.authorizer, input, 'api', version))
    }
    res.json(await Promise.all(input.map((q) => decideQuery(deps.authorizer, q, 'api', version))))
  })
  return router
}
