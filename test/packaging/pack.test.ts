import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { after, before, test } from 'node:test'
import { ROOT, apiCaller } from '../helpers/process.js'
import { appFiles } from './app-files.js'
import { ok, run, serve, type Served } from './scratch-app.js'

/*
 * The packages as a stranger gets them: `npm pack` of each, installed from the tarballs (their
 * dependencies from the registry) into a fresh app in a temp dir outside the workspace, where no
 * tsx, no workspace link and no tsconfig paths exist. One npm install serves every test below.
 */
const TSC = `${ROOT}node_modules/typescript/bin/tsc`
const API_KEY = `pack-${randomBytes(16).toString('hex')}`
const call = apiCaller(API_KEY)

let scratch: string
let app: string
let packed: { name: string; filename: string; files: { path: string }[] }[]
const servers: Served[] = []

before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'vigil-pack-'))
  assert.ok(!scratch.startsWith(ROOT), 'the scratch app must live outside the workspace')
  app = join(scratch, 'app')
  // `prepack` builds each package first (an incremental tsc -b: nothing to do after npm run build).
  const workspaces = ['-w', '@vigil-enforcer/client', '-w', '@vigil-enforcer/server']
  const pack = await ok('npm', ['pack', ...workspaces, '--json', '--pack-destination', scratch], {
    cwd: ROOT,
  })
  packed = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('[')))
  const tarball = (name: string) => join(scratch, packed.find((p) => p.name === name)!.filename)
  const files = appFiles({
    client: tarball('@vigil-enforcer/client'),
    server: tarball('@vigil-enforcer/server'),
  })
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(app, path)), { recursive: true })
    await writeFile(join(app, path), text)
  }
  await ok('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: app })
})

after(async () => {
  await Promise.all(servers.map((s) => s.stop()))
  if (scratch) await rm(scratch, { recursive: true, force: true })
})

test('each tarball holds built ESM and declarations, its exports resolve to them, and no tests', async () => {
  for (const { name, files } of packed) {
    const paths = files.map((f) => f.path)
    assert.ok(paths.includes('dist/index.js') && paths.includes('dist/index.d.ts'), name)
    // Every export target, as installed: `types` a .d.ts and `default` a .js, both shipped.
    const manifest = JSON.parse(
      await readFile(join(app, 'node_modules', name, 'package.json'), 'utf8'),
    ) as { exports: Record<string, string | { types: string; default: string }> }
    for (const [subpath, target] of Object.entries(manifest.exports)) {
      const targets = typeof target === 'string' ? [target] : [target.types, target.default]
      if (typeof target !== 'string') {
        assert.match(target.types, /^\.\/dist\/.*\.d\.ts$/, `${name} ${subpath}`)
        assert.match(target.default, /^\.\/dist\/.*\.js$/, `${name} ${subpath}`)
      }
      for (const t of targets) assert.ok(paths.includes(t.slice(2)), `${name} ${subpath} → ${t}`)
    }
    assert.deepEqual(
      paths.filter((p) => /(^|\/)test\/|\.test\.|tsbuildinfo/.test(p)),
      [],
      `${name} ships no tests or build state`,
    )
  }
  const client = packed.find((p) => p.name === '@vigil-enforcer/client')!
  assert.ok(
    client.files.some((f) => f.path === 'dist/vigil.js'),
    'the browser bundle is shipped',
  )
  const server = packed.find((p) => p.name === '@vigil-enforcer/server')!
  assert.ok(server.files.some((f) => f.path === 'bin/vigil.js'))
  assert.equal(existsSync(join(app, 'node_modules', 'tsx')), false, 'nothing brings tsx along')
})

test("the README's snippets typecheck in an ES2022 app with its own @types/express, hoisted or not", async () => {
  await ok(process.execPath, [TSC, '-p', '.'], { cwd: app })
  // An app's @types/express may keep its express-serve-static-core nested (a second version
  // elsewhere in the tree, or a strict layout): `req.vigil` must still be typed.
  const types = join(app, 'node_modules', '@types')
  const nested = join(types, 'express', 'node_modules', '@types')
  await mkdir(nested, { recursive: true })
  await rename(join(types, 'express-serve-static-core'), join(nested, 'express-serve-static-core'))
  try {
    await ok(process.execPath, [TSC, '-p', '.', '--noEmit'], { cwd: app })
  } finally {
    await rename(
      join(nested, 'express-serve-static-core'),
      join(types, 'express-serve-static-core'),
    )
  }
})

test('the vigil-enforcer bin serves with plain node, and the service-client snippet decides against it', async () => {
  const bin = join(app, 'node_modules', '.bin', 'vigil-enforcer')
  const node = await serve(bin, {
    cwd: app,
    env: { PORT: '0', VIGIL_API_KEY: API_KEY, LOG_LEVEL: 'info' },
    portOf: (line) => Number(/"url":"http:\/\/[^"]+:(\d+)"/.exec(line)?.[1] ?? NaN) || null,
  })
  servers.push(node)
  const policy = await call(node, 'PUT', '/v1/policy', {
    roles: { viewer: { permissions: [{ action: 'doc:read', resource: 'doc/*' }] } },
    bindings: { alice: ['viewer'] },
  })
  assert.equal(policy.status, 200)

  const env = { VIGIL_URL: node.url, VIGIL_API_KEY: API_KEY }
  const decided = await ok(process.execPath, ['out/service.js'], { cwd: app, env })
  const answer = JSON.parse(decided.stdout.trim().split('\n').at(-1)!)
  assert.equal(answer.allow, true)
  assert.equal(answer.version, policy.json.version)
  assert.deepEqual(
    answer.many.map((d: { allow: boolean }) => d.allow),
    [false],
  )

  const roles = await run(bin, ['roles', 'get', 'alice'], { cwd: app, env })
  assert.equal(roles.code, 0, roles.stderr)
  assert.match(roles.stdout, /viewer/)
})

test('the embedding snippet runs with plain node: it enforces its routes and serves the SDK bundle', async () => {
  const embedded = await serve('out/embed.js', {
    cwd: app,
    env: { VIGIL_API_KEY: API_KEY, LOG_LEVEL: 'warn' },
    portOf: (line) => (line.includes('"family"') ? JSON.parse(line).port : null),
  })
  servers.push(embedded)
  await call(embedded, 'PUT', '/v1/policy', {
    roles: { viewer: { permissions: [{ action: 'doc:read', resource: 'doc/*' }] } },
    bindings: { alice: ['viewer'] },
  })
  const session = await call(embedded, 'POST', '/v1/sessions', { sub: 'alice' })
  assert.equal(session.status, 201)
  const token = session.json.access_token as string
  assert.deepEqual(await call(embedded, 'GET', '/api/docs/7', undefined, token), {
    status: 200,
    json: { by: 'alice' },
  })
  assert.equal((await call(embedded, 'PUT', '/api/docs/7', {}, token)).status, 403)

  const bundle = await fetch(`${embedded.url}/sdk/vigil.js`)
  assert.equal(bundle.status, 200)
  const shipped = join(app, 'node_modules', '@vigil-enforcer', 'client', 'dist', 'vigil.js')
  assert.equal(await bundle.text(), await readFile(shipped, 'utf8'))
})

test('vite from npm builds a browser app against @vigil-enforcer/client', async () => {
  const vite = join(app, 'node_modules', 'vite', 'bin', 'vite.js')
  await ok(
    process.execPath,
    [vite, 'build', 'web', '--outDir', '../web-dist', '--logLevel', 'warn'],
    {
      cwd: app,
    },
  )
  const html = await readFile(join(app, 'web-dist', 'index.html'), 'utf8')
  const script = /src="\/(assets\/[^"]+\.js)"/.exec(html)?.[1]
  assert.ok(script, html)
  const js = await readFile(join(app, 'web-dist', script), 'utf8')
  assert.doesNotMatch(js, /from\s*["']@vigil-enforcer|from\s*["']node:/, 'bundled for the browser')
  assert.match(js, /vigil:revoked/, 'the SDK (and its protocol) is in the bundle')
})
