import assert from 'node:assert/strict'
import type { TokenPair } from '@vigil-enforcer/client/protocol'
import { SEED_POLICY, type TestNode } from '../helpers/enforcer.js'

/** An error answer as the API sends it. */
export interface ApiError {
  code: string
  message: string
  details?: { path: string; message: string }[]
}

/** Replaces the node's policy with the seed roles and bindings; returns the new version. */
export async function seedPolicy(node: TestNode): Promise<number> {
  const res = await node.api('/v1/policy', { method: 'PUT', json: SEED_POLICY })
  const body = (await res.json()) as { version: number }
  assert.equal(res.status, 200, `seeding the policy failed: ${JSON.stringify(body)}`)
  return body.version
}

/** Reads an error answer and checks its status and stable code. */
export async function expectError(res: Response, status: number, code: string): Promise<ApiError> {
  const text = await res.text()
  assert.equal(res.status, status, `expected ${status} ${code}, got ${res.status} ${text}`)
  const body = JSON.parse(text) as { error?: ApiError }
  assert.ok(body.error, `an error body: ${text}`)
  assert.equal(body.error.code, code)
  assert.equal(typeof body.error.message, 'string')
  return body.error
}

/**
 * Reads an error answer of the token endpoint (RFC 6749 §5.2): checks its status, its `error`
 * code, a printable-ASCII `error_description`, and the no-store headers every answer carries.
 */
export async function expectOAuthError(
  res: Response,
  status: number,
  error: string,
): Promise<Record<string, unknown>> {
  const text = await res.text()
  assert.equal(res.status, status, `expected ${status} ${error}, got ${res.status} ${text}`)
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/)
  assert.equal(res.headers.get('cache-control'), 'no-store')
  assert.equal(res.headers.get('pragma'), 'no-cache')
  const body = JSON.parse(text) as Record<string, unknown>
  assert.equal(body['error'], error, text)
  // RFC 6749 §5.2: the description is printable ASCII without `"` or `\`.
  assert.match(String(body['error_description']), /^[\x20-\x21\x23-\x5b\x5d-\x7e]+$/, text)
  return body
}

/** Reads a 400 and checks that its details name `path` (and never only the whole body). */
export async function expectInvalid(
  res: Response,
  code: 'invalid_request' | 'invalid_policy',
  path: string | RegExp,
): Promise<ApiError> {
  const error = await expectError(res, 400, code)
  const paths = (error.details ?? []).map((d) => d.path)
  const names = (p: string): boolean => (typeof path === 'string' ? p === path : path.test(p))
  assert.ok(paths.some(names), `details name ${String(path)}: ${JSON.stringify(error)}`)
  return error
}

/** Reads a successful JSON answer, showing the body when the status is not the expected one. */
export async function expectJson<T>(res: Response, status = 200): Promise<T> {
  const text = await res.text()
  assert.equal(res.status, status, `expected ${status}, got ${res.status} ${text}`)
  return JSON.parse(text) as T
}

/** Mints a session through the service API. */
export async function createSession(
  node: TestNode,
  sub: string,
  claims?: Record<string, unknown>,
): Promise<TokenPair> {
  const res = await node.api('/v1/sessions', {
    method: 'POST',
    json: claims === undefined ? { sub } : { sub, claims },
  })
  return expectJson<TokenPair>(res, 201)
}

/** The decoded header (0) or payload (1) of a JWT, without verifying it. */
export function jwtPart(token: string, part: 0 | 1): Record<string, unknown> {
  const segment = token.split('.')[part]
  assert.ok(segment, 'a JWT has three segments')
  return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8')) as Record<string, unknown>
}

/** The node's audit lines, parsed. */
export function auditRecords(node: TestNode): Record<string, unknown>[] {
  return node.audit.lines.map((line) => JSON.parse(line) as Record<string, unknown>)
}

/**
 * Flushes the audit log, then polls (one event-loop turn at a time, bounded) until `probe`
 * returns a value: audit lines reach their stream asynchronously.
 */
export async function waitForAudit<T>(
  node: TestNode,
  what: string,
  probe: (records: Record<string, unknown>[]) => T | undefined,
): Promise<T> {
  await node.enforcer.audit.flush()
  for (let i = 0; i < 1000; i++) {
    const found = probe(auditRecords(node))
    if (found !== undefined) return found
    await new Promise((resolve) => setImmediate(resolve))
  }
  assert.fail(`no audit line for ${what}:\n${node.audit.text}`)
}
