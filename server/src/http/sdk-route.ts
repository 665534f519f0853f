import { createHash } from 'node:crypto'
import { readFile, stat } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Router, type Request, type Response } from 'express'

/** Where `npm run build -w @vigil-enforcer/client` writes the browser bundle. */
function defaultBundlePath(): string {
  try {
    const pkg = createRequire(import.meta.url).resolve('@vigil-enforcer/client/package.json')
    return join(dirname(pkg), 'dist', 'vigil.js')
  } catch {
    // An install without the workspace link: the repository layout still holds.
    return fileURLToPath(new URL('../../../client-sdk/dist/vigil.js', import.meta.url))
  }
}

interface Bundle {
  mtimeMs: number
  size: number
  body: Buffer
  etag: string
}

/**
 * `GET /sdk/vigil.js`: the client SDK's ESM browser bundle, so an app can
 * `import { createVigilClient } from 'https://vigil.example/sdk/vigil.js'`. Revalidated on every
 * load (`no-cache` + ETag) so a redeployed SDK is picked up at once; a missing bundle is a 503
 * that says how to build it.
 *
 * @example
 * ```ts
 * router.use(sdkRoutes())
 * ```
 */
export function sdkRoutes(options: { bundlePath?: string } = {}): Router {
  const path = options.bundlePath ?? defaultBundlePath()
  const router = Router()
  let cached: Bundle | null = null

  async function load(): Promise<Bundle | null> {
    const info = await stat(path).catch(() => null)
    if (!info?.isFile()) return null
    // Re-read only when the file changed: a rebuild during development shows up on reload.
    if (cached && cached.mtimeMs === info.mtimeMs && cached.size === info.size) return cached
    const body = await readFile(path)
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`
    cached = { mtimeMs: info.mtimeMs, size: info.size, body, etag }
    return cached
  }

  router.get('/sdk/vigil.js', async function sdkBundle(req: Request, res: Response) {
    const bundle = await load().catch(() => null)
    if (!bundle) {
      // Not `sendError`: that maps `internal` to 500, and this is "not ready", not a crash.
      res.status(503).setHeader('Cache-Control', 'no-store')
      res.json({
        error: {
          code: 'internal',
          message: 'the SDK bundle is not built: run npm run build -w @vigil-enforcer/client',
        },
      })
      return
    }
    res.setHeader('Content-Type', 'text/javascript; charset=utf-8')
    res.setHeader('Cache-Control', 'no-cache')
    res.setHeader('ETag', bundle.etag)
    res.setHeader('X-Content-Type-Options', 'nosniff')
    // A module script from another origin needs CORS; the bundle is public and credential-free.
    res.setHeader('Access-Control-Allow-Origin', '*')
    res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin')
    if (req.fresh) {
      res.status(304).end()
      return
    }
    res.send(bundle.body)
  })

  return router
}
