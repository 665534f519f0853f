import type { Principal } from '../policy/principal.js'

/** Why a token was refused; stable, safe to log and to switch on. */
export type VerifyDetail =
  | 'malformed'
  | 'too_large'
  | 'alg_not_allowed'
  | 'header_forbidden'
  | 'typ_invalid'
  | 'kid_unknown'
  | 'key_retired'
  | 'signature_invalid'
  | 'claim_missing'
  | 'claim_invalid'
  | 'issuer_invalid'
  | 'audience_invalid'
  | 'expired'
  | 'not_yet_valid'
  | 'issued_in_future'
  | 'untrusted_issuer'
  /** A trusted external issuer's token lives longer (`exp` − `iat`) than its configured maximum. */
  | 'lifetime_exceeded'
  /** A trusted external issuer's JWKS could not be fetched or read. */
  | 'jwks_unavailable'

export type VerifyFailure = {
  ok: false
  code: 'token_invalid' | 'token_expired'
  detail: VerifyDetail
}

export type VerifyResult =
  | {
      ok: true
      principal: Principal
      /** Expiry, epoch seconds. */
      exp: number
      /** True when the answer came from the verified-token cache. */
      cached: boolean
    }
  | VerifyFailure

/** A refusal; only `expired` is reported as `token_expired`, so clients know to refresh. */
export function refuse(detail: VerifyDetail): VerifyFailure {
  return { ok: false, code: detail === 'expired' ? 'token_expired' : 'token_invalid', detail }
}

/**
 * Maps an error thrown by jose's `jwtVerify` to a refusal by its stable `code` (and, for claim
 * failures, the `claim` and `reason` fields). Messages are never used: they can change.
 */
export function refusalOf(err: unknown): VerifyFailure {
  const { code, claim, reason } = (err ?? {}) as {
    code?: unknown
    claim?: unknown
    reason?: unknown
  }
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return refuse('expired')
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return refuse(claimDetail(claim, reason))
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return refuse('signature_invalid')
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return refuse('alg_not_allowed')
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return refuse('kid_unknown')
    case 'ERR_JWKS_TIMEOUT':
    case 'ERR_JWKS_INVALID':
    case 'ERR_JOSE_GENERIC':
      return refuse('jwks_unavailable')
    default:
      // ERR_JWS_INVALID, ERR_JWT_INVALID, and the TypeErrors jose throws for unusable input.
      return refuse('malformed')
  }
}

function claimDetail(claim: unknown, reason: unknown): VerifyDetail {
  if (reason === 'missing') return 'claim_missing'
  switch (claim) {
    case 'iss':
      return 'issuer_invalid'
    case 'aud':
      return 'audience_invalid'
    case 'nbf':
      return reason === 'check_failed' ? 'not_yet_valid' : 'claim_invalid'
    case 'iat':
      return reason === 'check_failed' ? 'issued_in_future' : 'claim_invalid'
    case 'typ':
      return 'typ_invalid'
    default:
      return 'claim_invalid'
  }
}
