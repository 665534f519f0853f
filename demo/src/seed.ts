import type { PolicyInput } from '@vigil-enforcer/server'

/** The demo's users: who can sign in on the workspace page, and the role each starts with. */
export const DEMO_USERS = [
  { sub: 'alice', name: 'Alice', title: 'Editor', role: 'editor' },
  { sub: 'bob', name: 'Bob', title: 'Viewer', role: 'viewer' },
  { sub: 'carol', name: 'Carol', title: 'Admin', role: 'admin' },
] as const

/**
 * The seed policy: viewers read documents, editors also write them, admins may do everything
 * including the admin API (`vigil:admin`). Any subject can be given roles later through
 * `PUT /v1/subjects/:sub/roles`.
 */
export const SEED_POLICY: PolicyInput = {
  roles: {
    viewer: {
      description: 'Reads documents',
      permissions: [
        { action: 'doc:read', resource: 'doc/*' },
        { action: 'doc:export', resource: 'doc/*' },
      ],
    },
    editor: {
      description: 'Reads and edits documents',
      permissions: [
        { action: 'doc:read', resource: 'doc/*' },
        { action: 'doc:export', resource: 'doc/*' },
        { action: 'doc:write', resource: 'doc/*' },
      ],
    },
    admin: {
      description: 'Everything, including the admin API',
      permissions: [
        { action: 'vigil:admin', resource: '*' },
        { action: '*', resource: '*' },
      ],
    },
  },
  bindings: Object.fromEntries(DEMO_USERS.map((u) => [u.sub, [u.role]])),
}
