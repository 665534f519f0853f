import { Router } from 'express'
import { z } from 'zod'
import type { DecisionBody } from '@vigil-enforcer/client/protocol'
import type { Authorizer } from '../authorize.js'
import { sendError } from '../http/errors.js'
import { Subject } from '../policy/schema.js'
import { requireAdmin } from './auth.js'
import { body, validate } from './body.js'
import { answerOf, decideBatch } from './decision-batch.js'
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
  return answerOf(await authorizer.authorize(who, q.action, q.resource, { transport }), version)
}

/**
 * `POST /v1/decisions`: one query or a batch of up to 1,000, for backend services. A batch yields
 * to the event loop as it goes and stops with `budget_exceeded` (413) past its decision-time
 * budget (decision-batch.ts).
 */
export function decisionRoutes(deps: ApiDeps): Router {
  const router = Router()
  router.post('/v1/decisions', requireAdmin(deps), body(), async (req, res) => {
    const input = validate(res, DecisionRequest, req.body)
    if (!input) return
    const version = deps.live.current().version
    if (!Array.isArray(input)) {
      return res.json(await decideQuery(deps.authorizer, input, 'api', version))
    }
    const limits = deps.decisionBudgetMs === undefined ? {} : { budgetMs: deps.decisionBudgetMs }
    const batch = await decideBatch(deps.authorizer, input, 'api', version, limits)
    if (!batch.ok) {
      const { answers } = batch
      return sendError(res, batch.code, batch.message, { answered: answers.length, answers })
    }
    res.json(batch.answers)
  })
  return router
}
