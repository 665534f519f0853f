import { pino, type DestinationStream, type Logger } from 'pino'

/**
 * Errors are logged by type, code and message only. Library errors can carry their inputs as
 * properties (ioredis attaches the command and its arguments, which may hold key material), so
 * no arbitrary property of an error ever reaches a log line.
 */
function safeError(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { message: String(err) }
  const out: Record<string, unknown> = { type: err.name, message: err.message }
  const code = (err as { code?: unknown }).code
  if (typeof code === 'string' || typeof code === 'number') out['code'] = code
  if (err.stack) out['stack'] = err.stack.split('\n').slice(1, 6).join('\n')
  if (err.cause instanceof Error) out['cause'] = `${err.cause.name}: ${err.cause.message}`
  return out
}

/**
 * The one root logger of a process. Anything shaped like a credential is redacted by path as a
 * second line of defence; the first is never passing one to the logger.
 *
 * @example
 * ```ts
 * const logger = createLogger({ level: 'info', nodeId: 'node-a' })
 * logger.child({ module: 'realtime' }).info('listening')
 * ```
 */
export function createLogger(options: {
  level: string
  nodeId: string
  stream?: DestinationStream
}): Logger {
  return pino(
    {
      level: options.level,
      base: { node: options.nodeId },
      serializers: { err: safeError, error: safeError },
      redact: {
        paths: [
          'token',
          '*.token',
          'access_token',
          '*.access_token',
          'refresh_token',
          '*.refresh_token',
          'apiKey',
          '*.apiKey',
          'authorization',
          '*.authorization',
          '*.headers.authorization',
          'privateJwk',
          '*.privateJwk',
        ],
        censor: '[redacted]',
      },
    },
    options.stream ?? pino.destination(1),
  )
}
