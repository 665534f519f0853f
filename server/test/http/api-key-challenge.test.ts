import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { startNode, type TestNode } from '../helpers/enforcer.js'

describe('the admin API challenge (RFC 6750 §3.1)', () => {
  let node: TestNode
  before(async () => {
    node = await startNode()
  })
  after(() => node.close())

  it('a wrong API key gets 401 unauthorized with error="invalid_token"', async () => {
    const res = await node.api('/v1/policy', { auth: 'wrong-api-key-0123456789abcdef' })
    assert.equal(res.status, 401)
    assert.equal(
      res.headers.get('www-authenticate'),
      'Bearer realm="vigil", error="invalid_token", error_description="the API key is not valid"',
    )
    const body = (await res.json()) as { error: { code: string } }
    assert.equal(body.error.code, 'unauthorized')
  })

  it('no credential at all gets the bare challenge, without an error code', async () => {
    const res = await node.api('/v1/policy', { auth: null })
    assert.equal(res.status, 401)
    assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="vigil"')
    await res.body?.cancel()
  })
})
