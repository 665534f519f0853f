/**
 * `sdk`: the size of the browser bundle an app downloads (`GET /sdk/vigil.js`), socket.io-client
 * included, built fresh by esbuild exactly as `npm run build` does. Target ≤ 30 KB gzipped.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import type { Bench } from './harness.js'

const ROOT = new URL('../../', import.meta.url)

export const bench: Bench = async () => {
  execFileSync('npm', ['run', 'build', '-w', '@vigil-enforcer/client'], {
    cwd: ROOT,
    stdio: 'pipe',
  })
  const bundle = readFileSync(new URL('client-sdk/dist/vigil.js', ROOT))
  return [
    {
      key: 'sdk.gzip_bytes',
      value: gzipSync(bundle, { level: 9 }).length,
      unit: 'B',
      note: 'client-sdk/dist/vigil.js gzipped (level 9), socket.io-client included (target ≤ 30720)',
    },
    { key: 'sdk.raw_bytes', value: bundle.length, unit: 'B', note: 'minified, not compressed' },
  ]
}
