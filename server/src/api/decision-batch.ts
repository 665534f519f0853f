/**
 * A batch of decisions (up to 1,000) without stalling the node. Each decision is synchronous CPU
 * work, and against a policy of many globs one can take milliseconds; run back to back, a batch
 * would hold the event loop for seconds — `/healthz`, sockets and every other request wait. So
 * the batch yields to the event loop (`setImmediate`) whenever it has run for a slice, and it has
 * a budget of decision time: past it, the batch stops with `budget_exceeded`, handing back the
 * answers it reached, and the caller sends the rest (the service SDK does so by itself).
 *
 * @module
 */
import { performance } from 'node:perf_hooks'
import { setImmediate as yieldToLoop } from 'node:timers/promises'
import type { Authorized, Authorizer } from '../authorize.js'
import type { DecisionAnswer, DecisionQuery } from './decision-routes.js'

export interface BatchLimits {
  /** Longest run of decisions between two yields to the event loop, ms. @default 5 */
  sliceMs?: number
  /** Decision time one batch may use in all, ms. @default 500 */
  budgetMs?: number
}

export type BatchResult =
  | { ok: true; answers: DecisionAnswer[] }
  | {
      ok: false
      code: 'budget_exceeded'
      message: string
      /** The answers of the first queries, in order: the caller need only send the rest. */
      answers: DecisionAnswer[]
    }

/** Tokens verified ahead of their decisions, a group at a time. */
const VERIFY_GROUP = 64

/** A decision answer: a refused token is a deny with the refusal code as its reason. */
export function answerOf(r: Authorized, version: number): DecisionAnswer {
  if (r.ok) return strip(r.decision)
  if (r.decision) return { ...strip(r.decision), code: r.code }
  return { allow: false, reason: r.code, code: r.code, version }
}

function strip(d: DecisionAnswer): DecisionAnswer {
  return d.rule === undefined
    ? { allow: d.allow, reason: d.reason, version: d.version }
    : { allow: d.allow, reason: d.reason, rule: d.rule, version: d.version }
}

const whoOf = (q: DecisionQuery) =>
  'token' in q ? q.token : { sub: q.subject, claims: q.claims ?? {} }

/**
 * Decides `queries` in order, yielding between slices and within the budget.
 *
 * @example
 * ```ts
 * const r = await decideBatch(authorizer, queries, 'api', live.current().version)
 * if (!r.ok) return sendError(res, r.code, r.message, { answered: r.answers.length, answers: r.answers })
 * ```
 */
export async function decideBatch(
  authorizer: Authorizer,
  queries: readonly DecisionQuery[],
  transport: 'api' | 'service',
  /** The node's policy version, reported when no decision was reached (a refused token). */
  version: number,
  limits: BatchLimits = {},
): Promise<BatchResult> {
  const sliceMs = limits.sliceMs ?? 5
  const budgetMs = limits.budgetMs ?? 500
  const opts = { transport } as const
  const answers: DecisionAnswer[] = []
  let spent = 0
  let sliceStart = performance.now()
  for (let group = 0; group < queries.length; group += VERIFY_GROUP) {
    const end = Math.min(queries.length, group + VERIFY_GROUP)
    // Signatures are checked first, into the verified-token cache (crypto runs off the loop), so
    // every decision below is synchronous and its time is the batch's own.
    const tokens = queries.slice(group, end).flatMap((q) => ('token' in q ? [q.token] : []))
    if (tokens.length > 0) {
      await Promise.all(tokens.map((t) => authorizer.authenticate(t, opts)))
      sliceStart = performance.now()
    }
    for (let i = group; i < end; i++) {
      const q = queries[i]!
      const started = performance.now()
      const now = authorizer.authorizeNow(whoOf(q), q.action, q.resource, opts)
      const finished = performance.now()
      if (now) {
        answers.push(answerOf(now, version))
        spent += finished - started
      } else {
        // A refused token (never cached) or a cache evicted meanwhile: the asynchronous path.
        answers.push(
          answerOf(await authorizer.authorize(whoOf(q), q.action, q.resource, opts), version),
        )
      }
      if (spent > budgetMs && i + 1 < queries.length) {
        const message =
          `the batch used more than ${budgetMs} ms of decision time after ${i + 1} of ` +
          `${queries.length} queries; send the rest again, or smaller batches`
        return { ok: false, code: 'budget_exceeded', message, answers }
      }
      if (performance.now() - sliceStart >= sliceMs) {
        await yieldToLoop()
        sliceStart = performance.now()
      }
    }
  }
  return { ok: true, answers }
}
