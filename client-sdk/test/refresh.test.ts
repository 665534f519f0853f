import assert from 'node:assert/strict'
import { after, afterEach, before, beforeEach, describe, mock, test } from 'node:test'
import { createVigilClient, VigilError, type RefreshEvent, type VigilClient } from '../src/index.js'
import { FAKE_URL, fakeFetch, fakePair, json } from './fake-enforcer.js'
import { memoryStorage, startSdkNode, until, type SdkNode } from './helpers.js'

const clients: VigilClient[] = []
const flush = () => new Promise((resolve) => setImmediate(resolve))

function client(fake: ReturnType<typeof fakeFetch>, session = fakePair(1, 300, Date.now())) {
  const vigil = createVigilClient({
    url: FAKE_URL,
    session,
    fetch: fake.fetch,
    socket: { autoConnect: false },
    broadcast: false,
  })
  clients.push(vigil)
  const refreshes: RefreshEvent[] = []
  vigil.on('refresh', (e) => refreshes.push(e))
  return { vigil, refreshes }
}

describe('refresh scheduling (mocked clock)', () => {
  beforeEach(() => {
    mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'], now: 1_700_000_000_000 })
  })
  afterEach(() => {
    for (const c of clients.splice(0)) c.close()
    mock.timers.reset()
  })

  test('renews refreshLeadS (60 s) ahead of expiry, and again for each new token', async () => {
    const fake = fakeFetch()
    const { refreshes } = client(fake)
    fake.token.push(json(200, fakePair(2, 300, Date.now() + 240_000)))
    fake.token.push(json(200, fakePair(3, 300, Date.now() + 480_000)))

    mock.timers.tick(239_000)
    await flush()
    assert.equal(fake.tokenCalls().length, 0)
    mock.timers.tick(1_000)
    await flush()
    assert.equal(fake.tokenCalls().length, 1)
    assert.deepEqual(
      refreshes.map((r) => r.trigger),
      ['schedule'],
    )
    mock.timers.tick(240_000)
    await flush()
    assert.equal(fake.tokenCalls().length, 2)
    assert.equal(JSON.parse(fake.tokenCalls()[1]!.body!).refresh_token, 'refresh-2')
  })

  test('renews a short token at half its lifetime', async () => {
    const fake = fakeFetch()
    client(fake, fakePair(1, 10, Date.now()))
    fake.token.push(json(200, fakePair(2, 10, Date.now() + 5_000)))
    mock.timers.tick(4_900)
    await flush()
    assert.equal(fake.tokenCalls().length, 0)
    mock.timers.tick(100)
    await flush()
    assert.equal(fake.tokenCalls().length, 1)
  })

  test('a failed renewal is retried with backoff until it succeeds', async () => {
    const fake = fakeFetch()
    const { vigil } = client(fake, fakePair(1, 10, Date.now()))
    const errors: string[] = []
    vigil.on('error', (e) => errors.push(e.code))
    fake.token.push(json(503, { error: { code: 'store_unavailable', message: 'down' } }))
    fake.token.push(json(503, { error: { code: 'store_unavailable', message: 'down' } }))
    fake.token.push(json(200, fakePair(2, 10, Date.now())))
    mock.timers.tick(5_000)
    await flush()
    assert.equal(fake.tokenCalls().length, 1)
    mock.timers.tick(1_000)
    await flush()
    assert.equal(fake.tokenCalls().length, 2)
    mock.timers.tick(1_999)
    await flush()
    assert.equal(fake.tokenCalls().length, 2)
    mock.timers.tick(1)
    await flush()
    assert.equal(fake.tokenCalls().length, 3)
    assert.deepEqual(errors, ['store_unavailable', 'store_unavailable'])
    assert.equal(vigil.state, 'active')
  })

  test('a renewal answered 429 is retried no sooner than its Retry-After', async () => {
    const fake = fakeFetch()
    const { vigil } = client(fake, fakePair(1, 120, Date.now()))
    const errors: string[] = []
    vigil.on('error', (e) => errors.push(e.code))
    fake.token.push(
      new Response(
        JSON.stringify({ error: 'temporarily_unavailable', error_description: 'slow down' }),
        { status: 429, headers: { 'content-type': 'application/json', 'retry-after': '20' } },
      ),
    )
    fake.token.push(json(200, fakePair(2, 120, Date.now())))
    // In steps shorter than the wake watcher's tick: one long jump would look like a sleep.
    const advance = async (ms: number) => {
      for (let left = ms; left > 0; left -= 1000) {
        mock.timers.tick(Math.min(1000, left))
        await flush()
      }
    }
    await advance(60_000)
    assert.equal(fake.tokenCalls().length, 1)
    assert.deepEqual(errors, ['rate_limited'])
    // The backoff alone would retry after 1 s; the server asked for 20.
    await advance(19_999)
    assert.equal(fake.tokenCalls().length, 1)
    mock.timers.tick(1)
    await flush()
    assert.equal(fake.tokenCalls().length, 2)
    assert.equal(vigil.state, 'active')
  })

  test('after the machine slept past expiry, the client renews on waking', async () => {
    const fake = fakeFetch()
    const { refreshes } = client(fake)
    fake.token.push(json(200, fakePair(2)))
    // Suspended: the wall clock jumps, no timer ran meanwhile.
    mock.timers.setTime(Date.now() + 3_600_000)
    mock.timers.tick(5_000)
    await flush()
    assert.equal(fake.tokenCalls().length, 1)
    assert.deepEqual(
      refreshes.map((r) => r.trigger),
      ['wake'],
    )
  })

  test('a request made with a stale token renews first instead of sending it', async () => {
    const fake = fakeFetch()
    const { vigil } = client(fake, fakePair(1, 300, Date.now()))
    fake.token.push(json(200, fakePair(2)))
    fake.api.push(json(200, {}))
    mock.timers.setTime(Date.now() + 299_000)
    await vigil.fetch(`${FAKE_URL}/api/docs/1`)
    assert.equal(fake.tokenCalls().length, 1)
    assert.equal(fake.apiCalls()[0]!.authorization, `Bearer ${fakePair(2).access_token}`)
  })

  test('while renewal is down, a token with time left is still used and an expired one never is', async () => {
    const fake = fakeFetch()
    const session = fakePair(1, 300, Date.now())
    const { vigil } = client(fake, session)
    vigil.on('error', () => {})
    const down = () => json(503, { error: { code: 'store_unavailable', message: 'down' } })
    fake.token.push(down(), down())
    fake.api.push(json(200, {}))
    mock.timers.setTime(Date.now() + 298_000)
    const res = await vigil.fetch(`${FAKE_URL}/api/docs/1`)
    assert.equal(res.status, 200)
    assert.equal(fake.apiCalls()[0]!.authorization, `Bearer ${session.access_token}`)
    mock.timers.setTime(Date.now() + 10_000)
    await assert.rejects(
      vigil.fetch(`${FAKE_URL}/api/docs/1`),
      (err: unknown) => err instanceof VigilError && err.code === 'store_unavailable',
    )
    assert.equal(fake.apiCalls().length, 1)
  })
})

describe('refresh with a live socket', () => {
  let node: SdkNode
  before(async () => {
    node = await startSdkNode({
      // No clock tolerance: an expired token is refused the moment it expires.
      env: { VIGIL_ACCESS_TTL: '5', VIGIL_CLOCK_TOLERANCE: '0' },
      expiringLeadS: 2,
      expiryGraceS: 1,
    })
  })
  after(async () => {
    for (const c of clients.splice(0)) c.close()
    await node.close()
  })

  test('vigil:expiring makes the client renew and hand the token over in place', async () => {
    const session = await node.session('alice')
    // A zero lead leaves the renewal to the server's vigil:expiring, 2 s before exp.
    const vigil = createVigilClient({ url: node.url, session, refreshLeadS: 0 })
    clients.push(vigil)
    const refreshes: RefreshEvent[] = []
    vigil.on('refresh', (e) => refreshes.push(e))
    await until(() => vigil.socket.connected, 'the connection')
    const id = vigil.socket.id
    await until(() => refreshes.length >= 2, 'two renewals', 12_000)
    assert.deepEqual(
      refreshes.slice(0, 2).map((r) => r.trigger),
      ['expiring', 'expiring'],
    )
    assert.equal(vigil.socket.id, id)
    assert.equal(vigil.socket.connected, true)
    const ack = await vigil.emit('doc:edit', { docId: '1', text: 'still here' })
    assert.deepEqual(ack, { ok: true, data: { docId: '1', length: 10 } })
    vigil.close()
  })

  test('two clients sharing a session take turns renewing it, so no refresh token is spent twice', async () => {
    const session = await node.session('alice')
    const storage = memoryStorage()
    const a = createVigilClient({ url: node.url, session, storage })
    const b = createVigilClient({ url: node.url, storage })
    clients.push(a, b)
    const refreshes: Array<[string, RefreshEvent]> = []
    a.on('refresh', (e) => refreshes.push(['a', e]))
    b.on('refresh', (e) => refreshes.push(['b', e]))
    const calls = node.tokenCalls()
    const own = () => refreshes.filter(([, e]) => e.trigger !== 'peer').length
    await until(() => own() >= 3, 'three renewals', 15_000)
    assert.equal(a.state, 'active')
    assert.equal(b.state, 'active')
    // Every exchange was announced by the client that made it; the other one adopted it.
    assert.equal(node.tokenCalls() - calls, own())
    assert.ok(refreshes.some(([, e]) => e.trigger === 'peer'))
    assert.equal(a.socket.connected && b.socket.connected, true)
  })

  test('a client holding an expired token renews before its handshake, never presenting it', async () => {
    const { access_token, refresh_token } = await node.session('alice')
    const exp = JSON.parse(Buffer.from(access_token.split('.')[1]!, 'base64url').toString()).exp
    await until(() => Date.now() > exp * 1000 + 200, 'the token to expire', 8_000)
    const refused = () => node.audit.lines.filter((l) => l.includes('"token_expired"')).length
    const before = refused()
    // No expires_in: the client goes by the token's own (past) exp, like a tab woken from sleep.
    const vigil = createVigilClient({ url: node.url, session: { access_token, refresh_token } })
    clients.push(vigil)
    await until(() => vigil.socket.connected, 'the connection')
    assert.equal(refused(), before)
    vigil.close()
  })
})
