import { loadConfig } from './config.js'
import { createLogger } from './logger.js'
import { startStandalone, type Standalone } from './standalone.js'

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

let node: Standalone
try {
  node = await startStandalone(config, logger)
} catch (err) {
  logger.fatal({ err }, 'could not start')
  process.exit(1)
}
logger.info({ url: node.url, store: node.enforcer.store.kind }, `vigil listening on ${node.url}`)
if (config.apiKeyGenerated) {
  // Shown once, on the terminal only, so a developer can call the API; never logged.
  process.stderr.write(`\nVIGIL_API_KEY (generated for this run): ${config.apiKey}\n\n`)
}

let draining = false
async function drain(signal: string): Promise<void> {
  if (draining) return
  draining = true
  logger.info({ signal }, 'draining')
  await node.drain()
  logger.info('drained')
  logger.flush()
  process.exit(0)
}
process.on('SIGTERM', () => void drain('SIGTERM'))
process.on('SIGINT', () => void drain('SIGINT'))
