import { performance } from 'node:perf_hooks'
import { createMemoryStore } from '../../server/src/store/memory-store.js'
import { createKeyRing, createTokenIssuer, createVerifier } from '../../server/src/tokens/index.js'
import type { Verifier } from '../../server/src/tokens/index.js'
import type { Bench } from './harness.js'
import { round } from './harness.js'

/**
 * Access-token verification: a verified-token cache hit against full jose verification of the
 * same token (EdDSA signature, claim checks). The ratio is what the cache saves per request.
 */

/**
 * A copy of `token` that is a new string object: what each HTTP request hands the verifier (a
 * slice of its own Authorization header), whose hash no lookup has computed yet.
 */
const fresh = (header: string): string => header.slice(7)

async function meanMicros(
  verifier: Verifier,
  method: 'verify' | 'verifyUncached',
  token: string,
  iterations: number,
  tokenOf: (header: string) => string = () => token,
): Promise<number> {
  const header = `Bearer ${token}`
  for (let i = 0; i < Math.min(iterations, 1000); i++) await verifier[method](tokenOf(header))
  const start = performance.now()
  for (let i = 0; i < iterations; i++) {
    const r = await verifier[method](tokenOf(header))
    // A refusal would time the wrong path; stop rather than report a meaningless figure.
    if (!r.ok) throw new Error(`verify bench: ${method} refused the token (${r.detail})`)
  }
  return ((performance.now() - start) * 1000) / iterations
}

export const bench: Bench = async ({ quick }) => {
  const store = createMemoryStore()
  const keyRing = createKeyRing({ store, maxTokenLifetimeS: 900 })
  await keyRing.init()
  const common = { keyRing, issuer: 'https://vigil.bench', audience: 'bench' }
  const issuer = createTokenIssuer({ ...common, accessTtlS: 900 })
  const verifier = createVerifier(common)
  const { token } = await issuer.issueAccessToken({
    sub: 'alice',
    sid: 'bench-session',
    claims: { tenant: 'acme', groups: ['contractors', 'editors'] },
  })

  const hitUs = await meanMicros(verifier, 'verify', token, quick ? 50_000 : 500_000)
  const freshUs = await meanMicros(verifier, 'verify', token, quick ? 50_000 : 500_000, fresh)
  const fullUs = await meanMicros(verifier, 'verifyUncached', token, quick ? 2_000 : 20_000)
  return [
    {
      key: 'verify.hit_us',
      value: round(hitUs),
      unit: 'µs',
      note: 'mean, verified-token cache hit, the same string object every time',
    },
    {
      key: 'verify.hit_fresh_us',
      value: round(freshUs),
      unit: 'µs',
      note: 'mean, cache hit with a new string per call, as each HTTP request brings',
    },
    {
      key: 'verify.full_us',
      value: round(fullUs),
      unit: 'µs',
      note: 'mean, full EdDSA verification of the same token',
    },
    {
      key: 'verify.ratio',
      value: round(fullUs / freshUs, 1),
      unit: '×',
      note: 'full ÷ hit with a new string (what the cache saves per request)',
    },
  ]
}
