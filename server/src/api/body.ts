import express, { type ErrorRequestHandler, type RequestHandler, type Response } from 'express'
import { z } from 'zod'
import { formatIssues } from '../policy/schema.js'
import { sendError } from '../http/errors.js'

/** Largest JSON body the API reads; a whole policy document must fit. */
export const BODY_LIMIT = '1mb'

/**
 * Largest body of the policy write routes: a batch of 10,000 changes naming 512-character
 * subjects is about 6 MB. Only admins reach these routes, after authentication.
 */
export const POLICY_BODY_LIMIT = '16mb'

const parseJson = express.json({ limit: BODY_LIMIT, strict: true, type: () => true })
const parsePolicyJson = express.json({ limit: POLICY_BODY_LIMIT, strict: true, type: () => true })
const parseForm = express.urlencoded({ limit: '16kb', extended: false, type: () => true })

/** How a refused body is answered; the token endpoint answers in RFC 6749's shape instead. */
export type BodyRefusal = (res: Response, code: 'unsupported_media_type', message: string) => void

/**
 * Reads a JSON body, refusing any other content type with 415 before a byte is parsed.
 * `form: true` also accepts `application/x-www-form-urlencoded` (the OAuth token endpoint).
 */
export function body(
  options: { form?: boolean; refuse?: BodyRefusal; large?: boolean } = {},
): RequestHandler {
  const json = options.large ? parsePolicyJson : parseJson
  const refuse: BodyRefusal = options.refuse ?? sendError
  return function readBody(req, res, next) {
    // RFC 8259 §8.1: JSON is UTF-8. body-parser would also decode utf-7 and friends.
    const charset = /;\s*charset=("?)([^";]+)\1/i.exec(req.get('content-type') ?? '')?.[2]
    if (charset !== undefined && !/^utf-?8$/i.test(charset)) {
      return refuse(res, 'unsupported_media_type', 'the body must be UTF-8')
    }
    if (req.is('application/json')) return json(req, res, next)
    if (options.form && req.is('application/x-www-form-urlencoded')) {
      return parseForm(req, res, next)
    }
    const accepted = options.form
      ? 'application/json or application/x-www-form-urlencoded'
      : 'application/json'
    refuse(res, 'unsupported_media_type', `the body must be ${accepted}`)
  }
}

/** What a body-parser failure means, as a stable code and message; undefined when it is not one. */
export function bodyFailure(
  err: unknown,
):
  | { code: 'payload_too_large' | 'invalid_request' | 'unsupported_media_type'; message: string }
  | undefined {
  const type = (err as { type?: string } | null)?.type
  if (type === 'entity.too.large') {
    // Each parser has its own limit (forms are far smaller); name the one that refused.
    const limit = (err as { limit?: unknown }).limit
    const size = typeof limit === 'number' ? `${limit} bytes` : BODY_LIMIT
    return { code: 'payload_too_large', message: `the body is larger than ${size}` }
  }
  if (type === 'entity.parse.failed') {
    return { code: 'invalid_request', message: 'the body is not valid JSON' }
  }
  if (type === 'encoding.unsupported' || type === 'charset.unsupported') {
    return { code: 'unsupported_media_type', message: 'the body encoding is not supported' }
  }
  return undefined
}

/** Maps body-parser failures to stable codes instead of express's HTML error page. */
export const bodyErrors: ErrorRequestHandler = function bodyErrors(err, _req, res, next) {
  const failure = bodyFailure(err)
  if (!failure) return next(err)
  sendError(res, failure.code, failure.message)
}

/**
 * Validates untrusted input with a zod schema; on failure answers 400 naming every field path
 * and returns undefined.
 *
 * @example
 * ```ts
 * const input = validate(res, SessionRequest, req.body)
 * if (!input) return
 * ```
 */
export function validate<S extends z.ZodType>(
  res: Response,
  schema: S,
  input: unknown,
  code: 'invalid_request' | 'invalid_policy' = 'invalid_request',
): z.output<S> | undefined {
  const parsed = schema.safeParse(input)
  if (parsed.success) return parsed.data
  const issues = formatIssues(new z.ZodError(closestBranch(parsed.error.issues)))
  const first = issues[0]!
  sendError(res, code, `${first.path}: ${first.message}`, issues)
  return undefined
}

type Issue = z.core.$ZodIssue

/** An issue saying the input is not even the shape a branch expects (object vs array…). */
const wrongShape = (issue: Issue): boolean =>
  issue.path.length === 0 && (issue.code === 'invalid_type' || issue.code === 'invalid_union')

/**
 * Replaces each union failure ("Invalid input" on the whole body) by the issues of the branch the
 * input came closest to matching, so the caller is told which field to fix.
 */
function closestBranch(issues: readonly Issue[]): Issue[] {
  return issues.flatMap((issue) => {
    if (issue.code !== 'invalid_union' || issue.errors.length === 0) return [issue]
    const fitting = issue.errors
      .map((branch) => closestBranch(branch))
      .filter((branch) => !branch.every(wrongShape))
    if (fitting.length === 0) return [issue]
    const best = fitting.reduce((a, b) => (b.length < a.length ? b : a))
    return best.map((i) => ({ ...i, path: [...issue.path, ...i.path] }) as Issue)
  })
}
