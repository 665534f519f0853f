/** A shared document of the demo workspace. */
export interface DemoDoc {
  id: string
  title: string
  text: string
  version: number
  updatedBy: string
  updatedAt: number
}

const SEED: Omit<DemoDoc, 'version' | 'updatedBy' | 'updatedAt'>[] = [
  {
    id: '1',
    title: 'Q3 launch plan',
    text:
      'Goals\n- Ship continuous authorization to every tenant\n- Revocation under 10 ms end to end\n\n' +
      'Risks\n- Contractors keep access after offboarding\n- Long exports outlive a session\n',
  },
  {
    id: '2',
    title: 'Incident runbook',
    text: 'When a laptop is lost: revoke the session first.\n',
  },
]

/**
 * The demo's documents, in this node's memory. Edits arrive over the socket (`doc:edit`) and
 * saves over HTTP (`PUT /api/docs/:id`); both are enforced before they reach this store.
 */
export function createDocsStore() {
  const docs = new Map<string, DemoDoc>(
    SEED.map((d) => [d.id, { ...d, version: 1, updatedBy: 'seed', updatedAt: Date.now() }]),
  )
  return {
    list: (): DemoDoc[] => [...docs.values()],
    get: (id: string): DemoDoc | undefined => docs.get(id),
    update(id: string, text: string, by: string): DemoDoc | undefined {
      const doc = docs.get(id)
      if (!doc) return undefined
      doc.text = text
      doc.version += 1
      doc.updatedBy = by
      doc.updatedAt = Date.now()
      return doc
    },
  }
}

export type DocsStore = ReturnType<typeof createDocsStore>
