import type { ErrorRequestHandler } from 'express'
import type { Logger } from 'pino'
import { sendError, sendThrown } from './errors.js'

/**
 * The last error handler of an app that mounts Vigil: every error that reaches it is answered as
 * `{error: {code, message}}` JSON, never with express's default HTML page, which shows the stack
 * trace outside production. Body-parser failures get their own codes (`invalid_json`,
 * `payload_too_large`, `unsupported_media_type`); anything else is an opaque `internal`, logged.
 * Vigil's own routes answer their errors themselves; this covers the app's routes around them.
 *
 * @example
 * ```ts
 * app.use(vigil.router)
 * app.post('/api/notes', express.json(), saveNote)
 * app.use(jsonErrors(vigil.logger))
 * ```
 */
export function jsonErrors(logger?: Logger): ErrorRequestHandler {
  const log = logger?.child({ module: 'http' })
  return function jsonErrors(err, _req, res, next) {
    if (res.headersSent) return next(err)
    const type = (err as { type?: unknown } | null)?.type
    if (type === 'entity.parse.failed') {
      return sendError(res, 'invalid_json', 'the body is not valid JSON')
    }
    if (type === 'entity.too.large') {
      return sendError(res, 'payload_too_large', 'the body is too large')
    }
    if (type === 'encoding.unsupported' || type === 'charset.unsupported') {
      return sendError(res, 'unsupported_media_type', 'the body encoding is not supported')
    }
    // Other 4xx errors from express's own parsers and static files keep a coded, stackless answer.
    const status = (err as { status?: unknown } | null)?.status
    if (status === 404) return sendError(res, 'not_found', 'not found')
    if (typeof status === 'number' && status >= 400 && status < 500) {
      return sendError(res, 'invalid_request', 'the request could not be read')
    }
    log?.error({ err }, 'unhandled error in an app route')
    sendThrown(res, err)
  }
}
