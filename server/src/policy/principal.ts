/**
 * Who is asking: the identity a verified access token carries. The token says *who*; the policy
 * decides *what*. Claims are kept for `when` conditions and claim-derived groups.
 */
export interface Principal {
  /**
   * The subject key: the token's `sub` for Vigil's own tokens, and `<iss>|<sub>` for a trusted
   * external issuer's (`https://idp.example|dave`), so no IdP's user is a local one of the same
   * name. Bindings and revocations name it in this form.
   */
  sub: string
  /** The trusted external issuer (`iss`) of the token; absent for Vigil's own tokens. */
  issuer?: string
  /**
   * Put before each claim-derived group key: `<iss>|` for an external issuer (its `groups:
   * ['admins']` are `https://idp.example|group:admins`), `''` for one configured with
   * `shared_groups`. Absent for Vigil's own tokens, whose groups are the local ones.
   */
  groupScope?: string
  /** Session id (`sid` claim). */
  sid?: string
  /** Token id (`jti` claim). */
  jti?: string
  /** Issued-at, epoch seconds. */
  iat?: number
  /** Expiry, epoch seconds. */
  exp?: number
  /** Every claim of the token, including the registered ones above. */
  claims: Readonly<Record<string, unknown>>
}

/**
 * Joins a trusted external issuer and its `sub` into the principal's subject key:
 * `https://idp.example|dave`. Local subjects never contain it, so no local name can pose as an
 * external one.
 */
export const ISSUER_SEPARATOR = '|'
