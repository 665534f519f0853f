import assert from 'node:assert/strict'
import { test } from 'node:test'
import { loadConfig } from '../src/config.js'

test('an empty environment gives a working single-node development config', () => {
  const r = loadConfig({})
  assert.ok(r.ok)
  assert.equal(r.config.port, 3000)
  assert.equal(r.config.redisUrl, undefined)
  assert.equal(r.config.accessTtlS, 300)
  assert.equal(r.config.maxStalenessMs, 5000)
  assert.equal(r.config.signingAlg, 'EdDSA')
  assert.equal(r.config.apiKeyGenerated, true)
  assert.match(r.config.apiKey, /^vk_[\w-]{32}$/)
  assert.equal(r.config.issuer, 'http://127.0.0.1:3000')
  assert.deepEqual(r.config.allowedOrigins, ['http://localhost:3000', 'http://127.0.0.1:3000'])
})

test('every bad variable is reported at once, each by name', () => {
  const r = loadConfig({
    PORT: 'eighty',
    REDIS_URL: 'http://example',
    VIGIL_ACCESS_TTL: '999999',
    VIGIL_MAX_STALENESS_MS: '-1',
    LOG_LEVEL: 'loud',
    VIGIL_API_KEY: 'short',
  })
  assert.ok(!r.ok)
  const names = r.problems.map((p) => p.split(':')[0]).sort()
  assert.deepEqual(names, [
    'LOG_LEVEL',
    'PORT',
    'REDIS_URL',
    'VIGIL_ACCESS_TTL',
    'VIGIL_API_KEY',
    'VIGIL_MAX_STALENESS_MS',
  ])
})

test('the API key is never echoed in a problem message', () => {
  const r = loadConfig({ VIGIL_API_KEY: 'sekrit' })
  assert.ok(!r.ok)
  assert.ok(r.problems.every((p) => !p.includes('sekrit')))
})

test('production refuses to start without an API key', () => {
  const r = loadConfig({ NODE_ENV: 'production' })
  assert.deepEqual(r, { ok: false, problems: ['VIGIL_API_KEY: required when NODE_ENV=production'] })
})

test('allowed origins are split, trimmed and checked', () => {
  const ok = loadConfig({ VIGIL_ALLOWED_ORIGINS: 'https://app.example, http://localhost:5173' })
  assert.ok(ok.ok)
  assert.deepEqual(ok.config.allowedOrigins, ['https://app.example', 'http://localhost:5173'])
  const bad = loadConfig({ VIGIL_ALLOWED_ORIGINS: 'https://app.example/path' })
  assert.ok(!bad.ok)
  assert.match(bad.problems[0]!, /^VIGIL_ALLOWED_ORIGINS: /)
})

test('trusted issuers are parsed from JSON and a bad entry names its path', () => {
  const ok = loadConfig({
    VIGIL_TRUSTED_ISSUERS: JSON.stringify([
      { issuer: 'https://idp.example', jwks_uri: 'https://idp.example/jwks', audience: 'api' },
    ]),
  })
  assert.ok(ok.ok)
  assert.deepEqual(ok.config.trustedIssuers, [
    { issuer: 'https://idp.example', jwksUrl: 'https://idp.example/jwks', audience: 'api' },
  ])
  const bad = loadConfig({ VIGIL_TRUSTED_ISSUERS: '[{"issuer":"x","audience":"a"}]' })
  assert.ok(!bad.ok)
  assert.equal(
    bad.problems[0],
    'VIGIL_TRUSTED_ISSUERS (at 0.jwks_uri): Invalid input: expected string, received undefined',
  )
  const notJson = loadConfig({ VIGIL_TRUSTED_ISSUERS: '{' })
  assert.ok(!notJson.ok)
  assert.equal(notJson.problems[0], 'VIGIL_TRUSTED_ISSUERS: must be JSON')
})
