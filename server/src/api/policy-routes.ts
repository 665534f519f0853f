import { Router } from 'express'
import { z } from 'zod'
import { sendError, sendThrown } from '../http/errors.js'
import { parseChange } from '../policy/changes.js'
import { toPolicy } from '../policy/state.js'
import {
  BatchableChangeSchema,
  ChangeSchema,
  MAX_BATCH,
  type Change,
  Name,
  Reason as ReasonText,
  RevokeTargetSchema,
  Subject,
  type RevokeTarget,
} from '../policy/schema.js'
import { applyAndRespond } from './apply.js'
import { requireAdmin } from './auth.js'
import { body, validate } from './body.js'
import type { ApiDeps } from './deps.js'

/** `PUT /v1/subjects/:sub/roles`. */
export const RolesBody = z.strictObject({ roles: z.array(Name).max(1000) })
const SubjectParam = z.object({ sub: Subject })

const Reason = ReasonText.optional()
const IssuedBefore = z.union([
  z.number().int().nonnegative(),
  z.literal('now'),
  z.iso.datetime({ offset: true }),
])
/** `POST` and `DELETE /v1/revocations`. */
export const RevocationBody = z.union([
  z.strictObject({ subject: Subject, issued_before: IssuedBefore, reason: Reason }),
  z.strictObject({ subject: Subject, reason: Reason }),
  z.strictObject({
    session: Name,
    until: z.number().int().nonnegative().optional(),
    reason: Reason,
  }),
  z.strictObject({
    jti: Name,
    expires_at: z.number().int().nonnegative().optional(),
    reason: Reason,
  }),
])
/**
 * `POST /v1/policy/changes`: one change, or `{changes: [...]}` — up to 10,000 changes applied
 * atomically as one version and one log entry (`{type: 'batch', changes}` is the same).
 */
export const PolicyChangesBody = z.union([
  z.strictObject({ changes: z.array(BatchableChangeSchema).min(1).max(MAX_BATCH) }),
  ChangeSchema,
])

/** The change a `POST /v1/policy/changes` body asks for. */
function changeOf(input: z.output<typeof PolicyChangesBody>): Change {
  return 'changes' in input && !('type' in input)
    ? { type: 'batch', changes: input.changes }
    : (input as Change)
}

type RevocationInput = z.output<typeof RevocationBody>

/**
 * `defaultUntil`: when a session revocation without an explicit `until` may be pruned — once no
 * token of the session can be valid (see `SessionTokens.revocationUntil`).
 */
function toTarget(input: RevocationInput, nowMs: number, defaultUntil?: number): RevokeTarget {
  if ('session' in input) {
    const until = input.until ?? defaultUntil
    return until === undefined
      ? { kind: 'session', session: input.session }
      : { kind: 'session', session: input.session, until }
  }
  if ('jti' in input) {
    return input.expires_at === undefined
      ? { kind: 'token', jti: input.jti }
      : { kind: 'token', jti: input.jti, until: input.expires_at }
  }
  if ('issued_before' in input) {
    const b = input.issued_before
    // "now" rounds up: a token minted earlier in this second must not slip through.
    const before =
      b === 'now'
        ? Math.ceil(nowMs / 1000)
        : typeof b === 'number'
          ? b
          : Math.ceil(Date.parse(b) / 1000)
    return { kind: 'issued_before', subject: input.subject, before }
  }
  return { kind: 'subject', subject: input.subject }
}

function describe(target: RevokeTarget): string {
  return target.kind === 'session'
    ? `session:${target.session}`
    : target.kind === 'token'
      ? `jti:${target.jti}`
      : `subject:${target.subject}`
}

/** `If-Match: "12"` or `12` → 12; absent → undefined; anything else → NaN. */
function ifMatch(header: string | undefined): number | undefined {
  // RFC 9110 §13.1.1: `*` matches any current representation — no version condition.
  if (header === undefined || header.trim() === '*') return undefined
  const m = /^\s*(?:W\/)?"?(\d{1,15})"?\s*$/.exec(header)
  return m ? Number(m[1]) : Number.NaN
}

/**
 * The admin API over the central policy: read and replace the document, apply single changes,
 * set a subject's roles, revoke and lift revocations, rotate signing keys.
 */
export function policyRoutes(deps: ApiDeps): Router {
  const router = Router()
  const admin = requireAdmin(deps)

  router.get('/v1/policy', admin, async (_req, res) => {
    try {
      const snap = await deps.store.load()
      res.setHeader('ETag', `"${snap.version}"`)
      res.json({ version: snap.version, policy: toPolicy(snap.policy) })
    } catch (err) {
      sendThrown(res, err)
    }
  })

  router.put('/v1/policy', admin, body({ large: true }), async (req, res) => {
    const version = ifMatch(req.get('if-match'))
    if (Number.isNaN(version)) {
      return sendError(res, 'invalid_request', 'If-Match must be a policy version number')
    }
    await applyAndRespond(
      deps,
      res,
      { type: 'policy.replace', policy: req.body },
      {
        ...(version === undefined ? {} : { ifVersion: version }),
        target: 'policy',
      },
    )
  })

  router.post('/v1/policy/changes', admin, body({ large: true }), async (req, res) => {
    // Judged by its shape first, so that a bad batch reports `changes.<i>.<field>`, not the
    // union's every alternative.
    const raw: unknown = req.body
    const isBatch = typeof raw === 'object' && raw !== null && !('type' in raw) && 'changes' in raw
    let change: Change
    if (isBatch) {
      // Validated once, here, as the batch change; the store recognises it (see parseChange).
      const extra = Object.keys(raw).filter((k) => k !== 'changes')
      const parsed = parseChange({ type: 'batch', changes: (raw as { changes: unknown }).changes })
      const issues = parsed.ok ? [] : parsed.issues.map((i) => ({ ...i, path: i.path }))
      for (const key of extra) issues.push({ path: key, message: 'unknown field' })
      if (!parsed.ok || issues.length > 0) {
        const first = issues[0]!
        return sendError(res, 'invalid_request', `${first.path}: ${first.message}`, issues)
      }
      change = parsed.change
    } else {
      const input = validate(res, ChangeSchema, raw)
      if (!input) return
      change = changeOf(input)
    }
    if (change.type === 'keys.rotated') {
      return sendError(res, 'invalid_request', 'type: use POST /v1/keys/rotate')
    }
    await applyAndRespond(deps, res, change)
  })

  router.put('/v1/subjects/:sub/roles', admin, body(), async (req, res) => {
    const params = validate(res, SubjectParam, req.params)
    const input = params === undefined ? undefined : validate(res, RolesBody, req.body)
    if (params === undefined || !input) return
    const { sub } = params
    await applyAndRespond(
      deps,
      res,
      { type: 'subject.roles', subject: sub, roles: input.roles },
      {
        target: `subject:${sub}`,
      },
    )
  })

  router.post('/v1/revocations', admin, body(), async (req, res) => {
    const input = validate(res, RevocationBody, req.body)
    if (!input) return
    const now = Date.now()
    const target = toTarget(input, now, deps.sessions.revocationUntil(now))
    if (!RevokeTargetSchema.safeParse(target).success) {
      return sendError(res, 'invalid_request', 'issued_before: not a valid time')
    }
    if (target.kind === 'session') {
      const earliest = deps.sessions.earliestRevocationUntil(now)
      if (target.until !== undefined && target.until < earliest) {
        return sendError(
          res,
          'invalid_request',
          `until: must be at least ${earliest} (now + the access-token lifetime + clock tolerance), or the session's live access tokens would be admitted again`,
        )
      }
      try {
        // Its refresh tokens die now, so pruning the revocation later can never revive them.
        await deps.store.revokeFamily(target.session)
      } catch (err) {
        return sendThrown(res, err)
      }
    }
    const change = input.reason
      ? ({ type: 'revoke', target, reason: input.reason } as const)
      : ({ type: 'revoke', target } as const)
    await applyAndRespond(deps, res, change, { target: describe(target), status: 201 })
  })

  router.delete('/v1/revocations', admin, body(), async (req, res) => {
    const input = validate(res, RevocationBody, req.body)
    if (!input) return
    const target = toTarget(input, Date.now())
    await applyAndRespond(deps, res, { type: 'revoke.lift', target }, { target: describe(target) })
  })

  router.post('/v1/keys/rotate', admin, async (_req, res) => {
    try {
      const rotated = await deps.keyRing.rotate()
      // The change log tells every node to reload its ring before the new key signs there.
      await applyAndRespond(
        deps,
        res,
        { type: 'keys.rotated', kid: rotated.kid },
        {
          target: `key:${rotated.kid}`,
        },
      )
    } catch (err) {
      sendThrown(res, err)
    }
  })

  return router
}
