/**
 * Who is asking: the identity a verified access token carries. The token says *who*; the policy
 * decides *what*. Claims are kept for `when` conditions and claim-derived groups.
 */
export interface Principal {
  sub: string
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
