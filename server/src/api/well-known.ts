import { Router } from 'express'
import type { ApiDeps } from './deps.js'

/** JWKS, discovery, health, readiness and metrics: the unauthenticated operational surface. */
export function wellKnownRoutes(deps: ApiDeps): Router {
  const router = Router()

  router.get('/.well-known/jwks.json', (_req, res) => {
    // Short cache: a rotated key must reach relying parties within a token lifetime.
    res.setHeader('Cache-Control', 'public, max-age=60')
    res.json(deps.keyRing.jwks())
  })

  router.get('/.well-known/openid-configuration', (_req, res) => {
    res.json({
      issuer: deps.issuer,
      jwks_uri: `${deps.issuer}/.well-known/jwks.json`,
      token_endpoint: `${deps.issuer}/v1/token`,
      grant_types_supported: ['refresh_token'],
      token_endpoint_auth_methods_supported: ['none'],
      id_token_signing_alg_values_supported: ['EdDSA', 'ES256'],
      access_token_signing_alg_values_supported: ['EdDSA', 'ES256'],
      response_types_supported: ['token'],
      subject_types_supported: ['public'],
    })
  })

  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' })
  })

  router.get('/readyz', (_req, res) => {
    const version = deps.live.current().version
    const sinceContactMs = deps.live.sinceContactMs()
    const failure = deps.live.failure()
    if (failure) {
      return res.status(503).json({ error: failure, version, sinceContactMs })
    }
    res.json({ status: 'ready', version, sinceContactMs, store: deps.store.kind })
  })

  router.get('/metrics', async (_req, res) => {
    res.setHeader('Content-Type', deps.metrics.registry.contentType)
    res.send(await deps.metrics.registry.metrics())
  })

  return router
}
