import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { Principal } from '../../src/policy/principal.js'
import { createSessionTokens } from '../../src/tokens/sessions.js'
import type { TokenIssuer } from '../../src/tokens/issue.js'
import { parseRefreshToken } from '../../src/tokens/refresh-token.js'
import { ACCESS_TTL_S, createRig } from './helpers.js'

const REFRESH_TTL_S = 3600

async function setup(revoked: (p: Principal) => boolean = () => false) {
  const rig = await createRig()
  let issued = 0
  const issuer: TokenIssuer = {
    issueAccessToken(input) {
      issued++
      return rig.issuer.issueAccessToken(input)
    },
  }
  const checked: Principal[] = []
  const sessions = createSessionTokens({
    store: rig.store,
    issuer,
    accessTtlS: ACCESS_TTL_S,
    refreshTtlS: REFRESH_TTL_S,
    isRevoked: (p) => {
      checked.push(p)
      return revoked(p)
    },
    now: rig.clock.now,
  })
  return { ...rig, sessions, checked, issued: () => issued }
}

describe('sessions and refresh-token rotation', () => {
  it('a new session gets a token pair whose access token verifies', async () => {
    const s = await setup()
    const pair = await s.sessions.create({ sub: 'alice', claims: { tenant: 'acme' } })
    assert.equal(pair.token_type, 'Bearer')
    assert.equal(pair.expires_in, ACCESS_TTL_S)
    assert.match(pair.refresh_token, /^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/)
    assert.equal(pair.refresh_token.split('.')[0], pair.session_id)
    const v = await s.verifier.verify(pair.access_token)
    assert.ok(v.ok)
    assert.equal(v.principal.sub, 'alice')
    assert.equal(v.principal.sid, pair.session_id)
    assert.equal(v.principal.claims.tenant, 'acme')
  })

  it('the store keeps only hashes of a refresh token, and finds its family by them', async () => {
    const s = await setup()
    const pair = await s.sessions.create({ sub: 'alice' })
    const parts = parseRefreshToken(pair.refresh_token)!
    assert.equal(await s.store.getRefresh(parts.sid, parts.familySecret), null)
    const record = await s.store.getRefresh(parts.sid, parts.familyHash)
    assert.equal(record?.sub, 'alice')
    assert.equal(record?.sid, pair.session_id)
    assert.equal(record?.generation, 0)
  })

  it('a refresh returns a new refresh and access token for the same session', async () => {
    const s = await setup()
    const pair = await s.sessions.create({ sub: 'alice', claims: { tenant: 'acme' } })
    s.clock.advance(60_000)
    const r = await s.sessions.refresh(pair.refresh_token)
    assert.ok(r.ok)
    assert.equal(r.sub, 'alice')
    assert.equal(r.sid, pair.session_id)
    assert.equal(r.pair.session_id, pair.session_id)
    assert.notEqual(r.pair.refresh_token, pair.refresh_token)
    assert.notEqual(r.pair.access_token, pair.access_token)
    const v = await s.verifier.verify(r.pair.access_token)
    assert.ok(v.ok)
    assert.equal(v.principal.sid, pair.session_id)
    assert.equal(v.principal.claims.tenant, 'acme', 'custom claims carry over')
    assert.deepEqual(
      { sub: s.checked[0]?.sub, sid: s.checked[0]?.sid },
      { sub: 'alice', sid: pair.session_id },
      'the policy was asked about this session',
    )
  })

  it('replaying a spent refresh token fails as reused, kills the family and revokes the session', async () => {
    const s = await setup()
    const pair = await s.sessions.create({ sub: 'alice' })
    const rotated = await s.sessions.refresh(pair.refresh_token)
    assert.ok(rotated.ok)

    const replay = await s.sessions.refresh(pair.refresh_token)
    assert.deepEqual(replay, { ok: false, code: 'invalid_grant', detail: 'reused' })
    const next = await s.sessions.refresh(rotated.pair.refresh_token)
    assert.deepEqual(next, { ok: false, code: 'invalid_grant', detail: 'family_revoked' })

    const { policy } = await s.store.load()
    const revocation = policy.revocations.sessions.get(pair.session_id)
    assert.equal(revocation?.reason, 'refresh_token_reuse')
    assert.equal(
      revocation?.until,
      s.sessions.revocationUntil(s.clock.now()),
      'kept until no token of the session can be valid, then pruned',
    )
    assert.equal(
      s.sessions.revocationUntil(s.clock.now()),
      s.clock.seconds() + REFRESH_TTL_S + ACCESS_TTL_S + 30,
    )
  })

  it('any token of the family but the live one is a replay, even one forged from a spent one', async () => {
    const s = await setup()
    const pair = await s.sessions.create({ sub: 'alice' })
    const rotated = await s.sessions.refresh(pair.refresh_token)
    assert.ok(rotated.ok)
    // Whoever holds a spent token knows the family secret and can mint look-alikes of it.
    const [sid, family] = pair.refresh_token.split('.')
    const forged = `${sid}.${family}.${'A'.repeat(43)}`
    const replay = await s.sessions.refresh(forged)
    assert.deepEqual(replay, { ok: false, code: 'invalid_grant', detail: 'reused' })
    const next = await s.sessions.refresh(rotated.pair.refresh_token)
    assert.deepEqual(next, { ok: false, code: 'invalid_grant', detail: 'family_revoked' })
  })

  it('a token naming a session without its family secret is unknown and revokes nothing', async () => {
    const s = await setup()
    const pair = await s.sessions.create({ sub: 'alice' })
    // The session id is no secret (it is in every access token); it must not be enough to
    // revoke the session by posing as a replay.
    const [sid, , secret] = pair.refresh_token.split('.')
    const guessed = `${sid}.${'B'.repeat(22)}.${secret}`
    assert.deepEqual(await s.sessions.refresh(guessed), {
      ok: false,
      code: 'invalid_grant',
      detail: 'unknown',
    })
    const { policy } = await s.store.load()
    assert.equal(policy.revocations.sessions.has(pair.session_id), false)
    assert.ok((await s.sessions.refresh(pair.refresh_token)).ok)
  })

  it('a refresh for a revoked subject fails as revoked and issues nothing', async () => {
    let revoked = false
    const s = await setup((p) => revoked && p.sub === 'alice')
    const pair = await s.sessions.create({ sub: 'alice' })
    const issuedBefore = s.issued()
    revoked = true
    const r = await s.sessions.refresh(pair.refresh_token)
    assert.deepEqual(r, { ok: false, code: 'invalid_grant', detail: 'revoked' })
    assert.equal(s.issued(), issuedBefore)
    revoked = false
    const again = await s.sessions.refresh(pair.refresh_token)
    assert.deepEqual(again, { ok: false, code: 'invalid_grant', detail: 'family_revoked' })
    assert.equal(s.issued(), issuedBefore, 'lifting the revocation does not revive the family')
  })

  it('an expired refresh token fails as expired', async () => {
    const s = await setup()
    const pair = await s.sessions.create({ sub: 'alice' })
    s.clock.advance(REFRESH_TTL_S * 1000)
    const r = await s.sessions.refresh(pair.refresh_token)
    assert.deepEqual(r, { ok: false, code: 'invalid_grant', detail: 'expired' })
  })

  it('each rotation slides the refresh expiry forward', async () => {
    const s = await setup()
    let token = (await s.sessions.create({ sub: 'alice' })).refresh_token
    for (let i = 0; i < 3; i++) {
      s.clock.advance((REFRESH_TTL_S - 60) * 1000)
      const r = await s.sessions.refresh(token)
      assert.ok(r.ok, `rotation ${i + 1} succeeds`)
      token = r.pair.refresh_token
    }
  })

  it('unknown, malformed and non-string refresh tokens fail as unknown', async () => {
    const s = await setup()
    const unknownSession = `${'C'.repeat(22)}.${'D'.repeat(22)}.${'E'.repeat(43)}`
    const inputs = [
      unknownSession,
      'A'.repeat(43),
      'short',
      'x'.repeat(5000),
      '',
      undefined,
      null,
      42,
      {},
    ]
    for (const input of inputs) {
      const r = await s.sessions.refresh(input as never)
      assert.deepEqual(r, { ok: false, code: 'invalid_grant', detail: 'unknown' })
    }
  })

  it('creating a session with reserved or oversized claims throws TypeError', async () => {
    const s = await setup()
    await assert.rejects(s.sessions.create({ sub: 'alice', claims: { sub: 'root' } }), TypeError)
    const big = { blob: 'x'.repeat(5000) }
    await assert.rejects(s.sessions.create({ sub: 'alice', claims: big }), TypeError)
    await assert.rejects(s.sessions.create({ sub: '' }), TypeError)
  })
})
