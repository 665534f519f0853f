import assert from 'node:assert/strict'
import { afterEach, describe, test } from 'node:test'
import { createVigilClient, VigilError, type VigilClient } from '../src/index.js'
import { expired401, FAKE_URL, fakeFetch, fakePair, json, never } from './fake-enforcer.js'
import { memoryStorage } from './helpers.js'

const clients: VigilClient[] = []
afterEach(() => {
  for (const c of clients.splice(0)) c.close()
})

function client(fake: ReturnType<typeof fakeFetch>, extra: object = {}) {
  const vigil = createVigilClient({
    url: FAKE_URL,
    session: fakePair(1),
    fetch: fake.fetch,
    socket: { autoConnect: false },
    broadcast: false,
    ...extra,
  })
  clients.push(vigil)
  return vigil
}

const code = (c: string) => (err: unknown) => err instanceof VigilError && err.code === c
const api = `${FAKE_URL}/api/docs/1`

describe('vigil.fetch', () => {
  test('a 401 token_expired triggers one refresh and one retry with the new token', async () => {
    const fake = fakeFetch()
    const vigil = client(fake)
    const first = `Bearer ${fakePair(1).access_token}`
    fake.api.push(expired401(), json(200, { ok: true }))
    fake.token.push(json(200, fakePair(2)))

    const res = await vigil.fetch(api, { method: 'PUT', body: '{"text":"x"}' })

    assert.equal(res.status, 200)
    assert.equal(fake.tokenCalls().length, 1)
    assert.deepEqual(JSON.parse(fake.tokenCalls()[0]!.body!), {
      grant_type: 'refresh_token',
      refresh_token: 'refresh-1',
    })
    const [a, b] = fake.apiCalls()
    assert.equal(a!.authorization, first)
    assert.equal(b!.authorization, `Bearer ${fakePair(2).access_token}`)
    assert.equal(b!.body, '{"text":"x"}')
  })

  test('a second 401 surfaces as the response, after exactly one refresh', async () => {
    const fake = fakeFetch()
    const vigil = client(fake)
    fake.api.push(expired401(), expired401())
    fake.token.push(json(200, fakePair(2)))

    const res = await vigil.fetch(api)

    assert.equal(res.status, 401)
    assert.equal((await res.json()).error.code, 'token_expired')
    assert.equal(fake.tokenCalls().length, 1)
    assert.equal(fake.apiCalls().length, 2)
  })

  test('a 401 with another code is not retried', async () => {
    const fake = fakeFetch()
    const vigil = client(fake)
    fake.api.push(json(401, { error: { code: 'token_invalid', message: 'bad signature' } }))
    const res = await vigil.fetch(api)
    assert.equal(res.status, 401)
    assert.equal(fake.tokenCalls().length, 0)
    assert.equal(fake.apiCalls().length, 1)
  })

  test('concurrent 401s share one refresh', async () => {
    const fake = fakeFetch()
    const vigil = client(fake)
    fake.api.push(expired401(), expired401(), expired401())
    fake.api.push(json(200, {}), json(200, {}), json(200, {}))
    let release = (): void => {}
    fake.token.push(async () => {
      await new Promise<void>((resolve) => (release = resolve))
      return json(200, fakePair(2))
    })
    const all = Promise.all([vigil.fetch(api), vigil.fetch(api), vigil.fetch(api)])
    while (fake.tokenCalls().length === 0) await new Promise((r) => setTimeout(r, 1))
    release()
    const statuses = (await all).map((r) => r.status)
    assert.deepEqual(statuses, [200, 200, 200])
    assert.equal(fake.tokenCalls().length, 1)
  })

  test('a refused refresh (invalid_grant) ends the session: expired once, calls reject with token_expired', async () => {
    const fake = fakeFetch()
    const storage = memoryStorage()
    const vigil = client(fake, { storage })
    assert.notEqual(storage.getItem('vigil:session'), null)
    const expired: VigilError[] = []
    const teardown: string[] = []
    vigil.on('expired', (e) => expired.push(e.error))
    vigil.onTeardown((e) => void teardown.push(e.reason))
    fake.api.push(expired401())
    fake.token.push(json(400, { error: { code: 'invalid_grant', message: 'refused (reuse)' } }))

    await assert.rejects(vigil.fetch(api), code('token_expired'))

    assert.equal(vigil.state, 'expired')
    assert.deepEqual(
      expired.map((e) => e.code),
      ['invalid_grant'],
    )
    assert.deepEqual(teardown, ['expired'])
    assert.equal(storage.getItem('vigil:session'), null)
    await assert.rejects(vigil.fetch(api), code('token_expired'))
    await assert.rejects(vigil.emit('doc:edit', {}), code('token_expired'))
    await assert.rejects(vigil.accessToken(), code('token_expired'))
    assert.equal(fake.tokenCalls().length, 1)
  })

  test('a refresh refused because the session was revoked tears down as revoked, not expired', async () => {
    const fake = fakeFetch()
    const storage = memoryStorage()
    const vigil = client(fake, { storage })
    const revoked: string[] = []
    const expired: unknown[] = []
    vigil.on('revoked', (e) => revoked.push(e.reason))
    vigil.on('expired', (e) => expired.push(e))
    fake.api.push(expired401())
    fake.token.push(
      json(400, {
        error: { code: 'invalid_grant', message: 'refused', details: { reason: 'revoked' } },
      }),
    )

    await assert.rejects(vigil.fetch(api), code('revoked'))

    assert.equal(vigil.state, 'revoked')
    assert.deepEqual(revoked, ['refresh refused (revoked)'])
    assert.deepEqual(expired, [])
    assert.equal(storage.getItem('vigil:session'), null)
    await assert.rejects(vigil.emit('doc:edit', {}), code('revoked'))
  })

  test('an RFC 6749 invalid_grant answer ends the session, as revoked when its reason says so', async () => {
    for (const [reason, state] of [
      ['unknown', 'expired'],
      ['reused', 'revoked'],
    ] as const) {
      const fake = fakeFetch()
      const vigil = client(fake, { storage: memoryStorage() })
      const seen: VigilError[] = []
      vigil.on('expired', (e) => seen.push(e.error))
      fake.api.push(expired401())
      fake.token.push(
        json(400, {
          error: 'invalid_grant',
          error_description: `the refresh token was refused (${reason})`,
          reason,
        }),
      )
      await assert.rejects(
        vigil.fetch(api),
        code(state === 'expired' ? 'token_expired' : 'revoked'),
      )
      assert.equal(vigil.state, state)
      if (state === 'expired')
        assert.deepEqual(
          seen.map((e) => e.code),
          ['invalid_grant'],
        )
      assert.equal(fake.tokenCalls().length, 1, 'a refused grant is not retried')
    }
  })

  test('an RFC 6749 temporarily_unavailable answer is transient: rate_limited on 429', async () => {
    const fake = fakeFetch()
    const vigil = client(fake)
    const errors: VigilError[] = []
    vigil.on('error', (e) => errors.push(e))
    fake.api.push(expired401())
    fake.token.push(
      new Response(
        JSON.stringify({ error: 'temporarily_unavailable', error_description: 'slow down' }),
        { status: 429, headers: { 'content-type': 'application/json', 'retry-after': '7' } },
      ),
    )
    const res = await vigil.fetch(api)
    assert.equal(res.status, 401)
    assert.equal(errors[0]?.code, 'rate_limited')
    assert.deepEqual(errors[0]?.details, { status: 429, reason: undefined, retryAfterS: 7 })
    assert.equal(vigil.state, 'active')
  })

  test('a transient refresh failure returns the 401 and reports an error, the session lives on', async () => {
    const fake = fakeFetch()
    const vigil = client(fake)
    const errors: string[] = []
    vigil.on('error', (e) => errors.push(e.code))
    fake.api.push(expired401())
    fake.token.push(json(503, { error: { code: 'store_unavailable', message: 'down' } }))
    const res = await vigil.fetch(api)
    assert.equal(res.status, 401)
    assert.deepEqual(errors, ['store_unavailable'])
    assert.equal(vigil.state, 'active')
  })

  test('close() aborts in-flight requests with code closed and keeps the stored session', async () => {
    const fake = fakeFetch()
    const storage = memoryStorage()
    const vigil = client(fake, { storage })
    fake.api.push(never)
    const pending = vigil.fetch(api)
    while (fake.apiCalls().length === 0) await new Promise((r) => setTimeout(r, 1))
    vigil.close()
    await assert.rejects(pending, code('closed'))
    assert.notEqual(storage.getItem('vigil:session'), null)
    assert.equal(vigil.signal.aborted, true)
  })

  test('the caller can abort its own request with its own signal', async () => {
    const fake = fakeFetch()
    const vigil = client(fake)
    fake.api.push(never)
    const controller = new AbortController()
    const pending = vigil.fetch(api, { signal: controller.signal })
    while (fake.apiCalls().length === 0) await new Promise((r) => setTimeout(r, 1))
    controller.abort(new Error('user gave up'))
    await assert.rejects(pending, /user gave up/)
    assert.equal(vigil.state, 'active')
  })

  test('the access token is never sent to another origin', async () => {
    const fake = fakeFetch()
    const vigil = client(fake, { origins: ['https://api.test'] })
    fake.api.push(json(200, {}))
    await vigil.fetch('https://api.test/x')
    await assert.rejects(vigil.fetch('https://evil.test/x'), TypeError)
    assert.equal(fake.apiCalls().length, 1)
  })
})

describe('createVigilClient', () => {
  test('misuse throws TypeError; a missing session is token_missing', () => {
    assert.throws(() => createVigilClient({ url: 'not a url' }), TypeError)
    assert.throws(
      () =>
        createVigilClient({
          url: FAKE_URL,
          session: fakePair(1),
          getToken: async () => 'x',
        }),
      TypeError,
    )
    assert.throws(() => createVigilClient({ url: FAKE_URL }), TypeError)
    assert.throws(
      () => createVigilClient({ url: FAKE_URL, storage: memoryStorage() }),
      code('token_missing'),
    )
  })

  test('a stored session is resumed without passing it again', async () => {
    const fake = fakeFetch()
    const storage = memoryStorage()
    client(fake, { storage }).close()
    const resumed = client(fake, { storage, session: undefined })
    fake.api.push(json(200, {}))
    await resumed.fetch(api)
    assert.equal(fake.apiCalls()[0]!.authorization, `Bearer ${fakePair(1).access_token}`)
  })

  test('getToken supplies the token and is asked again on a 401', async () => {
    const fake = fakeFetch()
    let n = 0
    const vigil = client(fake, {
      session: undefined,
      getToken: async () => fakePair(++n).access_token,
    })
    fake.api.push(expired401(), json(200, {}))
    const res = await vigil.fetch(api)
    assert.equal(res.status, 200)
    assert.equal(n, 2)
    assert.equal(fake.tokenCalls().length, 0)
    assert.equal(fake.apiCalls()[1]!.authorization, `Bearer ${fakePair(2).access_token}`)
  })
})
