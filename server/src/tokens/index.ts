/**
 * Tokens: the signing key ring, access-token issue and verification, sessions with refresh-token
 * rotation. Internal helpers (inspection, key material, the cache) are not exported.
 *
 * @module
 */

export { createKeyRing } from './key-ring.js'
export type { KeyRing, KeyRingOptions, SigningAlg, VerificationKey } from './key-ring.js'

export { ACCESS_TOKEN_TYP, createTokenIssuer } from './issue.js'
export type { IssuedAccessToken, TokenIssuer, TokenIssuerOptions } from './issue.js'

export { MAX_CUSTOM_CLAIMS_BYTES, RESERVED_CLAIMS, checkCustomClaims } from './claims.js'
export type { ClaimsCheck } from './claims.js'

export { createVerifier } from './verify.js'
export type { Verifier, VerifierOptions } from './verify.js'
export type { VerifyDetail, VerifyFailure, VerifyResult } from './verify-result.js'
export type { TrustedIssuer } from './trusted-issuers.js'

export { REUSE_REASON, createSessionTokens } from './sessions.js'
export type {
  RefreshFailure,
  RefreshResult,
  SessionTokens,
  SessionTokensOptions,
} from './sessions.js'
