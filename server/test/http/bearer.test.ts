import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Request } from 'express'
import { bearerCandidate, bearerToken, isB64Token } from '../../src/http/bearer.js'

const JWS = 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl-_'
const req = (authorization?: string) => ({ headers: { authorization } }) as unknown as Request

test('the credential of a Bearer header, scheme in any case, spaces around it tolerated', () => {
  for (const header of [`Bearer ${JWS}`, `bearer ${JWS}`, `BEARER   ${JWS}  `]) {
    assert.equal(bearerToken(req(header)), JWS, header)
    assert.equal(bearerCandidate(header), JWS, header)
  }
  assert.equal(bearerToken(req('Bearer abc+/==')), 'abc+/==')
})

test('no header is undefined; another scheme or an empty credential is null', () => {
  assert.equal(bearerToken(req()), undefined)
  assert.equal(bearerToken(req('')), undefined)
  for (const header of [
    'Basic YWxpY2U6c2VjcmV0',
    'Bearer',
    'Bearer ',
    'Bearer    ',
    `Bearer\t${JWS}`,
    `Bearers ${JWS}`,
    JWS,
  ]) {
    assert.equal(bearerToken(req(header)), null, header)
    assert.equal(bearerCandidate(header), null, header)
  }
})

test('a credential outside RFC 6750 b64token syntax is malformed', () => {
  for (const bad of ['abc def', 'abc"', 'a=b', 'tok\u00e9n', '=abc']) {
    assert.equal(isB64Token(bad), false, bad)
    assert.equal(bearerToken(req(`Bearer ${bad}`)), null, bad)
    // The candidate is returned unchecked: enforce() checks it on a cache miss.
    assert.equal(bearerCandidate(`Bearer ${bad}`), bad)
  }
  assert.equal(isB64Token(JWS), true)
})
