import { createServer } from 'node:http'
import express from 'express'
import { loadConfig } from './config.js'
import { createEnforcer } from './enforcer.js'
import { createLogger } from './logger.js'

/**
 * The standalone enforcer (`npx vigil`): configuration from the environment, one HTTP server,
 * and a graceful drain on SIGTERM/SIGINT — stop accepting, finish in-flight requests, flush the
 * audit log, exit 0.
 */
const parsed = loadConfig(process.env)
if (!parsed.ok) {
  process.stderr.write(`vigil: invalid configuration\n  ${parsed.problems.join('\n  ')}\n`)
  process.exit(1)
}
const config = parsed.config
const logger = createLogger({ level: config.logLevel, nodeId: config.nodeId })

let vigil: Awaited<ReturnType<typeof createEnforcer>>
try {
  vigil = await createEnforcer({ config, logger })
} catch (err) {
  logger.fatal({ err }, 'could not start')
  process.exit(1)
}

const app = express()
app.disable('x-powered-by')
app.set('trust proxy', false)
app.use(vigil.router)

const server = createServer(app)
server.on('error', (err) => {
  logger.fatal({ err }, 'HTTP server failed')
  process.exit(1)
})
server.listen(config.port, config.host, () => {
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : config.port
  logger.info(
    { port, host: config.host, store: vigil.store.kind, issuer: config.issuer },
    `vigil listening on http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${port}`,
  )
  if (config.apiKeyGenerated) {
    // Shown once, on the terminal only, so a developer can call the API; never logged.
    process.stderr.write(`\nVIGIL_API_KEY (generated for this run): ${config.apiKey}\n\n`)
  }
})

let draining = false
async function drain(signal: string): Promise<void> {
  if (draining) return
  draining = true
  logger.info({ signal }, 'draining')
  const closed = new Promise<void>((resolve) => server.close(() => resolve()))
  server.closeIdleConnections()
  const forced = setTimeout(() => server.closeAllConnections(), 10_000)
  await closed
  clearTimeout(forced)
  await vigil.close()
  logger.info('drained')
  logger.flush()
  process.exit(0)
}
process.on('SIGTERM', () => void drain('SIGTERM'))
process.on('SIGINT', () => void drain('SIGINT'))
