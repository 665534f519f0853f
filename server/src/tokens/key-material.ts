import { randomBytes } from 'node:crypto'
import { exportJWK, generateKeyPair, importJWK } from 'jose'
import type { JWK } from 'jose'
import type { SigningAlg, StoredKey } from '../store/types.js'

/**
 * Key material for the key ring: generating a stored key pair, importing its halves, and the
 * public JWK that may be published. Internal to `tokens/`.
 */

export const SIGNING_ALGS: readonly SigningAlg[] = ['EdDSA', 'ES256']

/** The public JWK members per key type; anything else (notably `d`) is never copied out. */
const PUBLIC_MEMBERS: Record<string, readonly string[]> = {
  OKP: ['kty', 'crv', 'x'],
  EC: ['kty', 'crv', 'x', 'y'],
}

/** A published JWK: public members only, with `kid`, `alg` and `use: 'sig'`. */
export function publicJwkOf(jwk: JWK, kid: string, alg: SigningAlg): JWK {
  const members = PUBLIC_MEMBERS[jwk.kty ?? ''] ?? []
  const out: JWK = {}
  for (const name of members) {
    const value = (jwk as Record<string, unknown>)[name]
    if (typeof value === 'string') (out as Record<string, unknown>)[name] = value
  }
  return { ...out, kid, alg, use: 'sig' }
}

/** True for the signing algorithms the key ring can hold. */
export function isSigningAlg(value: unknown): value is SigningAlg {
  return typeof value === 'string' && (SIGNING_ALGS as readonly string[]).includes(value)
}

/** A random identifier: base64url of `bytes` random bytes. */
export function randomId(bytes = 12): string {
  return randomBytes(bytes).toString('base64url')
}

/**
 * A fresh key pair in its stored form. The private key is generated extractable only so that it
 * can be written to the store, which is how every node of the cluster signs with the same key.
 */
export async function generateStoredKey(alg: SigningAlg, createdAt: number): Promise<StoredKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true })
  const kid = randomId(12)
  const publicJwk = publicJwkOf(await exportJWK(publicKey), kid, alg)
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg }
  return { kid, alg, publicJwk, privateJwk, createdAt }
}

/** The verification half of a stored key. */
export async function importPublicKey(key: StoredKey): Promise<CryptoKey> {
  const imported = await importJWK(publicJwkOf(key.publicJwk, key.kid, key.alg), key.alg)
  return asCryptoKey(imported)
}

/** The signing half of a stored key, imported non-extractable: once loaded, `d` cannot leave. */
export async function importPrivateKey(key: StoredKey): Promise<CryptoKey> {
  if (typeof key.privateJwk.d !== 'string') {
    throw new Error(`signing key ${key.kid} has no private part in the store`)
  }
  const imported = await importJWK(key.privateJwk, key.alg, { extractable: false })
  return asCryptoKey(imported)
}

function asCryptoKey(key: CryptoKey | Uint8Array): CryptoKey {
  // Only symmetric ("oct") JWKs import as bytes; a stored signing key must never be one.
  if (key instanceof Uint8Array) throw new Error('a symmetric key cannot be a signing key')
  return key
}
