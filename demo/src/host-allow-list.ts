import type { RequestHandler } from 'express'
import { sendError, type Config } from '@vigil-enforcer/server'

/**
 * The `Host` values the demo answers sign-ins on. `/demo/login` mints a session — an admin's,
 * for Carol — without any credential, which is fine on the machine the demo runs on and nowhere
 * else. DNS rebinding would let any web page reach it anyway: `evil.example` resolves to
 * 127.0.0.1 a moment after the page loads, and the browser then sends `Host: evil.example`. So
 * only hosts this deployment names are served: the host of each `VIGIL_ALLOWED_ORIGINS` entry
 * (`*` names none), the host of `VIGIL_ISSUER`, and the address it listens on — with `localhost`,
 * `127.0.0.1` and `[::1]` at its port when that address is a loopback or wildcard one.
 *
 * @example
 * ```ts
 * allowedHosts(config, 'http://127.0.0.1:3000') // Set { 'localhost:3000', '127.0.0.1:3000', … }
 * ```
 */
export function allowedHosts(config: Config, selfUrl: string): Set<string> {
  const hosts = new Set<string>()
  const add = (url: string): void => {
    if (URL.canParse(url)) hosts.add(new URL(url).host.toLowerCase())
  }
  for (const origin of config.allowedOrigins) if (origin !== '*') add(origin)
  add(config.issuer)
  add(selfUrl)
  const { port } = new URL(selfUrl)
  if (['127.0.0.1', 'localhost', '::1', '0.0.0.0', '::'].includes(config.host)) {
    for (const name of ['localhost', '127.0.0.1', '[::1]'])
      hosts.add(port ? `${name}:${port}` : name)
  }
  return hosts
}

/**
 * Refuses a request whose `Host` header is not in `allowedHosts` with 403 `origin_forbidden`.
 * The list is computed on first use: the port may be known only once the server listens.
 */
export function requireAllowedHost(config: Config, selfUrl: () => string): RequestHandler {
  let hosts: Set<string> | undefined
  return function requireAllowedHost(req, res, next) {
    hosts ??= allowedHosts(config, selfUrl())
    const host = (req.headers.host ?? '').toLowerCase()
    if (hosts.has(host)) return next()
    sendError(
      res,
      'origin_forbidden',
      'sign-in is served only on the hosts this demo is configured for (see VIGIL_ALLOWED_ORIGINS)',
    )
  }
}
