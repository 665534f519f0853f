import type { RequestHandler } from 'express'

/**
 * The demo's pages load only their own scripts, styles and sockets: no inline script or style
 * attribute exists in `public/`, so nothing else needs to be allowed. `connect-src 'self'`
 * covers the same-origin socket.io WebSocket in current browsers.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ')

/**
 * Security headers on every response of the demo app: a strict CSP, no framing (the admin
 * console must not be clickjacked into revoking someone), no MIME sniffing, no referrer.
 *
 * @example
 * ```ts
 * app.use(securityHeaders())
 * ```
 */
export function securityHeaders(): RequestHandler {
  return function securityHeaders(_req, res, next) {
    res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY)
    // For browsers that predate `frame-ancestors`.
    res.setHeader('X-Frame-Options', 'DENY')
    res.setHeader('X-Content-Type-Options', 'nosniff')
    res.setHeader('Referrer-Policy', 'no-referrer')
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin')
    next()
  }
}
