import assert from 'node:assert/strict'
import { request } from 'node:http'
import { after, before, describe, it, test } from 'node:test'
import type { TokenPair } from '@vigil-enforcer/client/protocol'
import { clientKey } from '../../src/api/client-key.js'
import { KeyedBuckets } from '../../src/token-bucket.js'
import { startNode, type TestNode } from '../helpers/enforcer.js'
import { createSession, expectOAuthError, seedPolicy } from './helpers.js'

/**
 * Issue #13, item 4: `POST /v1/token` had no rate limit. It now has one per refresh family and
 * one per client address, answered 429 with `Retry-After` in RFC 6749's error shape, and the
 * limiter's state is bounded however many addresses or forged families it sees.
 */

const FAMILY_BURST = 3
const CLIENT_BURST = 12

describe('POST /v1/token rate limits', () => {
  let node: TestNode
  before(async () => {
    node = await startNode({
      enforcer: {
        tokenRateLimit: {
          // Refills so slowly that nothing comes back during a test.
          perFamily: { perSecond: 0.001, burst: FAMILY_BURST },
          perClient: { perSecond: 0.001, burst: CLIENT_BURST },
        },
      },
    })
    await seedPolicy(node)
  })
  after(() => node.close())

  type Answer = { status: number; headers: Record<string, string>; body: any }

  /** POSTs a body from `localAddress` (any 127.x address reaches the node on 127.0.0.1). */
  function post(body: string, contentType: string, localAddress: string): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = request(
        `${node.url}/v1/token`,
        { method: 'POST', localAddress, headers: { 'content-type': contentType } },
        (res) => {
          let text = ''
          res.setEncoding('utf8')
          res.on('data', (chunk: string) => (text += chunk))
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers as Record<string, string>,
              body: JSON.parse(text),
            }),
          )
        },
      )
      req.on('error', reject)
      req.end(body)
    })
  }

  function refresh(refreshToken: string, localAddress = '127.0.0.1'): Promise<Answer> {
    const body = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken })
    return post(body.toString(), 'application/x-www-form-urlencoded', localAddress)
  }

  /** Checks a 429 in RFC 6749's shape, with a whole-seconds Retry-After and no-store. */
  function assertLimited(res: Answer) {
    assert.equal(res.status, 429, JSON.stringify(res.body))
    assert.equal(res.body.error, 'temporarily_unavailable')
    assert.equal(typeof res.body.error_description, 'string')
    assert.match(res.headers['retry-after'] ?? '', /^[1-9]\d*$/)
    assert.equal(res.headers['cache-control'], 'no-store')
    assert.equal(res.headers['pragma'], 'no-cache')
  }

  it('one refresh family gets its burst, then 429 with Retry-After; another family is served', async () => {
    let pair: TokenPair = await createSession(node, 'alice')
    // Each from its own address, so only the family's limit is in play.
    for (let i = 0; i < FAMILY_BURST; i++) {
      const res = await refresh(pair.refresh_token, `127.0.1.${i + 1}`)
      assert.equal(res.status, 200, JSON.stringify(res.body))
      pair = res.body as TokenPair
    }
    const limited = await refresh(pair.refresh_token, '127.0.1.100')
    assertLimited(limited)
    // The token was not spent by the refused attempt: it is not a replay later on.
    const other = await createSession(node, 'alice')
    const served = await refresh(other.refresh_token, '127.0.1.101')
    assert.equal(served.status, 200, 'a second session of the same subject is its own family')
  })

  it('one client gets its burst across families, then 429; another client is served', async () => {
    // Well-shaped tokens nobody issued: each is its own (forged) family.
    const forged = (i: number) =>
      `${'s'.repeat(21)}${i % 10}.${String(i).padStart(22, 'f')}.${'x'.repeat(43)}`
    for (let i = 0; i < CLIENT_BURST; i++) {
      const res = await refresh(forged(i), '127.0.2.1')
      assert.equal(res.status, 400)
      assert.equal(res.body.error, 'invalid_grant')
    }
    assertLimited(await refresh(forged(CLIENT_BURST), '127.0.2.1'))
    // Even a real session's token: the client is over its budget.
    const session = await createSession(node, 'bob')
    assertLimited(await refresh(session.refresh_token, '127.0.2.1'))
    const elsewhere = await refresh(session.refresh_token, '127.0.2.2')
    assert.equal(elsewhere.status, 200)
  })

  it('a client over its budget is refused before its body is read, malformed or not', async () => {
    for (let i = 0; i < CLIENT_BURST; i++) await refresh('garbage', '127.0.3.1')
    assertLimited(await post('{"grant_type":', 'application/json', '127.0.3.1'))
    assertLimited(await post('x', 'text/plain', '127.0.3.1'))
  })
})

test('the limiter keeps at most maxKeys buckets however many keys it sees', () => {
  const buckets = new KeyedBuckets({ perSecond: 1, burst: 2 }, 1000)
  const now = Date.now()
  for (let i = 0; i < 50_000; i++) buckets.take(`client-${i}`, now)
  assert.ok(buckets.size <= 1000, `${buckets.size} buckets`)
  // A key in use stays limited while newer keys come and go behind it.
  assert.equal(buckets.take('hot', now).ok, true)
  assert.equal(buckets.take('hot', now).ok, true)
  for (let i = 0; i < 500; i++) buckets.take(`later-${i}`, now)
  assert.equal(buckets.take('hot', now).ok, false)
  assert.ok(buckets.size <= 1000)
})

test('an IPv6 client is counted by its /64, an IPv4-mapped one as its IPv4 address', () => {
  assert.equal(clientKey('192.0.2.7'), '192.0.2.7')
  assert.equal(clientKey('::ffff:192.0.2.7'), '192.0.2.7')
  assert.equal(clientKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64')
  assert.equal(clientKey('2001:0db8:0001:0002:ffff:ffff:ffff:ffff'), '2001:db8:1:2::/64')
  assert.equal(clientKey('2001:db8::1'), '2001:db8:0:0::/64')
  assert.equal(clientKey('::1'), '0:0:0:0::/64')
  assert.equal(clientKey('fe80::1%eth0'), 'fe80:0:0:0::/64')
  assert.equal(clientKey(undefined), '')
})
