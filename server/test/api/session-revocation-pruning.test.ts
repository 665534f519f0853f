import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { startNode, type TestNode } from '../helpers/enforcer.js'
import { createSession, expectError, expectJson, seedPolicy } from './helpers.js'

const REFRESH_TTL_S = 3600
const ACCESS_TTL_S = 300
const TOLERANCE_S = 30

describe('session revocations through the API carry until, for pruning', () => {
  let node: TestNode
  before(async () => {
    node = await startNode({
      env: {
        VIGIL_REFRESH_TTL: String(REFRESH_TTL_S),
        VIGIL_ACCESS_TTL: String(ACCESS_TTL_S),
        VIGIL_CLOCK_TOLERANCE: String(TOLERANCE_S),
      },
    })
    await seedPolicy(node)
  })
  after(() => node.close())

  const revoke = (json: unknown) => node.api('/v1/revocations', { method: 'POST', json })
  const refresh = (token: string) =>
    node.api('/v1/token', {
      method: 'POST',
      auth: null,
      json: { grant_type: 'refresh_token', refresh_token: token },
    })
  const stored = async (sid: string) => {
    const { policy } = await node.enforcer.store.load()
    return policy.revocations.sessions.get(sid)
  }

  it('a session revoked without until is kept for the refresh and access lifetimes and the tolerance', async () => {
    const pair = await createSession(node, 'alice')
    const t0 = Math.ceil(Date.now() / 1000)
    await expectJson(await revoke({ session: pair.session_id, reason: 'logout' }), 201)
    const t1 = Math.ceil(Date.now() / 1000)
    const until = (await stored(pair.session_id))?.until
    assert.ok(until !== undefined)
    const lifetime = REFRESH_TTL_S + ACCESS_TTL_S + TOLERANCE_S
    assert.ok(until >= t0 + lifetime && until <= t1 + lifetime, `until ${until}`)
  })

  it('an explicit until is kept, and one earlier than the access tokens can live is refused', async () => {
    const pair = await createSession(node, 'alice')
    const later = Math.ceil(Date.now() / 1000) + 10 * 24 * 3600
    await expectJson(await revoke({ session: pair.session_id, until: later }), 201)
    assert.equal((await stored(pair.session_id))?.until, later)

    const other = await createSession(node, 'alice')
    const early = Math.ceil(Date.now() / 1000) + 10
    const error = await expectError(
      await revoke({ session: other.session_id, until: early }),
      400,
      'invalid_request',
    )
    assert.match(error.message, /^until: must be at least \d+/)
    assert.equal(await stored(other.session_id), undefined, 'nothing was revoked')
    assert.equal((await refresh(other.refresh_token)).status, 200, 'nor its refresh family')
  })

  it('revoking a session kills its refresh tokens for good: lifting it later revives none', async () => {
    const pair = await createSession(node, 'alice')
    await expectJson(await revoke({ session: pair.session_id }), 201)
    await expectJson(
      await node.api('/v1/revocations', { method: 'DELETE', json: { session: pair.session_id } }),
    )
    const res = await refresh(pair.refresh_token)
    assert.equal(res.status, 400)
    const body = (await res.json()) as { error: string; reason: string }
    assert.deepEqual([body.error, body.reason], ['invalid_grant', 'family_revoked'])
  })
})
