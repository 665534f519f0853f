import { readmeSnippet } from './scratch-app.js'

/**
 * The files of a fresh app that installs the packed packages: the README's embedding and
 * service-client snippets as its server code, a browser page built by vite, and the tsconfig of
 * an app that targets ES2022 (not ES2023) and checks every declaration file it uses
 * (`skipLibCheck: false`), with its own `@types/express` and `@types/node`.
 */
export function appFiles(tarballs: { client: string; server: string }): Record<string, string> {
  const pkg = {
    name: 'fresh-app',
    private: true,
    type: 'module',
    dependencies: {
      '@vigil-enforcer/client': `file:${tarballs.client}`,
      '@vigil-enforcer/server': `file:${tarballs.server}`,
      express: '^5.1.0',
      zod: '^4.1.0',
    },
    devDependencies: { '@types/express': '^5.0.0', '@types/node': '^20.19.0', vite: '^8.0.0' },
  }
  const tsconfig = {
    compilerOptions: {
      target: 'ES2022',
      lib: ['ES2022', 'DOM'],
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      strict: true,
      skipLibCheck: false,
      types: ['node'],
      outDir: 'out',
    },
    include: ['embed.ts', 'service.ts', 'web/main.ts'],
  }
  return {
    'package.json': JSON.stringify(pkg, null, 2),
    'tsconfig.json': JSON.stringify(tsconfig, null, 2),
    // Port 0 instead of 3000, and the port printed, so the test can find the app.
    'embed.ts': readmeSnippet('## Embedding in an express + socket.io app', [
      ['http.listen(3000)', 'http.listen(0, () => console.log(JSON.stringify(http.address())))'],
    ]),
    'service.ts': SERVICE_PRELUDE + serviceSnippet() + SERVICE_EPILOGUE,
    'web/index.html': WEB_INDEX,
    'web/main.ts': WEB_MAIN,
  }
}

function serviceSnippet(): string {
  return readmeSnippet('## Backend services', [
    ["url: 'http://127.0.0.1:3000'", 'url: process.env.VIGIL_URL!'],
  ])
}

// The names the README's service snippet leaves to the reader's own service, made real: a
// session of alice's to watch and decide on, and no-op job hooks.
const SERVICE_PRELUDE = `const opened = await fetch(process.env.VIGIL_URL + '/v1/sessions', {
  method: 'POST',
  headers: {
    authorization: 'Bearer ' + process.env.VIGIL_API_KEY,
    'content-type': 'application/json',
  },
  body: JSON.stringify({ sub: 'alice' }),
})
const opening = (await opened.json()) as { access_token: string; session_id: string }
const sid = opening.session_id
const token = opening.access_token
const queries = [{ token, action: 'doc:write', resource: 'doc/1' }]
const jobs = { cancelFor: (who: string | undefined, why: string) => void [who, why] }
const recheck = (...why: unknown[]) => void why
const recheckEverything = () => undefined
`

const SERVICE_EPILOGUE = `
console.log(JSON.stringify({ allow, reason, version, many }))
vigil.close()
`

const WEB_INDEX = `<!doctype html>
<html>
  <head><meta charset="utf-8" /><title>fresh app</title></head>
  <body><button id="save">Save</button><script type="module" src="./main.ts"></script></body>
</html>
`

const WEB_MAIN = `import { createVigilClient, type VigilClient } from '@vigil-enforcer/client'

async function start(): Promise<VigilClient> {
  const session = await (await fetch('/auth/session', { method: 'POST' })).json()
  const vigil = createVigilClient({ url: location.origin, session, storage: localStorage })
  vigil.onTeardown(() => location.assign('/sign-in'))
  const save = document.querySelector<HTMLButtonElement>('#save')!
  save.disabled = !vigil.can('doc:write', 'doc/42')
  return vigil
}
void start()
`
