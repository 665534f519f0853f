import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { SignJWT, exportJWK, generateKeyPair } from 'jose'
import type { JWTPayload } from 'jose'

/** An external identity provider for tests: a real RS256 key whose JWKS is served over HTTP. */
export interface FakeIdp {
  issuer: string
  audience: string
  jwksUrl: string
  /** Its entry in `VIGIL_TRUSTED_ISSUERS`, plus any extra options. */
  trusted(extra?: Record<string, unknown>): Record<string, unknown>
  /** An access token of this IdP for `sub`, issued now, valid 5 minutes unless overridden. */
  token(sub: string, overrides?: JWTPayload): Promise<string>
  close(): Promise<void>
}

/**
 * Starts an IdP whose JWKS is at `http://127.0.0.1:<port>/jwks.json` (plain HTTP is accepted
 * for localhost only). Its `iss` is the given issuer, which need not resolve.
 */
export async function startFakeIdp(issuer: string, audience = 'vigil-at-idp'): Promise<FakeIdp> {
  const { publicKey, privateKey } = await generateKeyPair('RS256')
  const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }] }
  const server = createServer((req, res) => {
    if (req.url !== '/jwks.json') return void res.writeHead(404).end()
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`
  let n = 0
  return {
    issuer,
    audience,
    jwksUrl,
    trusted: (extra = {}) => ({
      issuer,
      jwks_uri: jwksUrl,
      audience,
      algorithms: ['RS256'],
      ...extra,
    }),
    token(sub, overrides = {}) {
      const iat = Math.floor(Date.now() / 1000)
      n += 1
      const claims = { iss: issuer, aud: audience, sub, sid: `idp-s${n}`, jti: `idp-j${n}`, iat }
      return new SignJWT({ ...claims, exp: iat + 300, ...overrides })
        .setProtectedHeader({ alg: 'RS256', kid: 'k1', typ: 'at+jwt' })
        .sign(privateKey)
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
