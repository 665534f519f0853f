import { byRole, deniedBy, nothing, runCases } from './decision-cases.js'
import type { Case } from './decision-cases.js'
import { who } from './fixture.js'

const cases: Case[] = [
  // patterns on actions and resources
  {
    title: 'a prefix resource pattern grants a resource under it',
    principal: who('alice'),
    action: 'doc:read',
    resource: 'doc/42',
    ...byRole('viewer'),
  },
  {
    title: 'a prefix resource pattern matches an empty rest',
    principal: who('alice'),
    action: 'doc:read',
    resource: 'doc/',
    ...byRole('viewer'),
  },
  {
    title: 'a star in a pattern matches across slashes',
    principal: who('alice'),
    action: 'doc:read',
    resource: 'doc/a/b/c',
    ...byRole('viewer'),
  },
  {
    title: 'a prefix resource pattern does not match a longer word',
    principal: who('alice'),
    action: 'doc:read',
    resource: 'docs/42',
    ...nothing,
  },
  {
    title: 'an exact action pattern does not match another action',
    principal: who('alice'),
    action: 'doc:write',
    resource: 'doc/42',
    ...nothing,
  },
  {
    title: 'an exact action pattern is case sensitive',
    principal: who('alice'),
    action: 'DOC:READ',
    resource: 'doc/42',
    ...nothing,
  },
  {
    title: 'a role with two permissions grants the second one',
    principal: who('bob'),
    action: 'doc:write',
    resource: 'doc/42',
    ...byRole('editor'),
  },
  {
    title: 'a suffix action pattern grants any action ending in it',
    principal: who('carol'),
    action: 'invoice:read',
    resource: 'inv/1',
    ...byRole('auditor'),
  },
  {
    title: 'a suffix action pattern does not grant other verbs',
    principal: who('carol'),
    action: 'invoice:write',
    resource: 'inv/1',
    ...nothing,
  },
  {
    title: 'a suffix resource pattern grants a resource ending in it',
    principal: who('dave'),
    action: 'doc:export',
    resource: 'site/public',
    ...byRole('exporter'),
  },
  {
    title: 'a suffix resource pattern does not grant another ending',
    principal: who('dave'),
    action: 'doc:export',
    resource: 'site/private',
    ...nothing,
  },
  {
    title: 'a prefix action and a middle resource glob grant together',
    principal: who('dave'),
    action: 'report:monthly',
    resource: 'report/2024/summary',
    ...byRole('reporter'),
  },
  {
    title: 'a middle resource glob needs both ends',
    principal: who('dave'),
    action: 'report:monthly',
    resource: 'report/2024/detail',
    ...nothing,
  },
  {
    title: 'star on action and resource grants anything',
    principal: who('root'),
    action: 'anything:at-all',
    resource: 'some/where',
    ...byRole('admin'),
  },
  {
    title: 'regex characters in a pattern are literal',
    principal: who('lit'),
    action: 'a.b',
    resource: 'x+(y)[0]',
    ...byRole('literal'),
  },
  {
    title: 'a dot in a pattern does not match any character',
    principal: who('lit'),
    action: 'aXb',
    resource: 'x+(y)[0]',
    ...nothing,
  },
  // deny overrides allow
  {
    title: 'a deny rule for everyone overrides a role grant',
    principal: who('alice'),
    action: 'doc:read',
    resource: 'doc/secret/plan',
    ...deniedBy('deny-secret'),
  },
  {
    title: 'a deny rule overrides even the star-star admin role',
    principal: who('root'),
    action: 'doc:read',
    resource: 'doc/secret/x',
    ...deniedBy('deny-secret'),
  },
  {
    title: 'a subject deny rule with a middle glob overrides a role grant',
    principal: who('bob'),
    action: 'doc:write',
    resource: 'doc/7/draft',
    ...deniedBy('deny-bob-drafts'),
  },
  {
    title: 'a middle glob deny leaves other resources to the role',
    principal: who('bob'),
    action: 'doc:write',
    resource: 'doc/7/final',
    ...byRole('editor'),
  },
  {
    title: 'when two deny rules match, the first in the document is reported',
    principal: who('bob'),
    action: 'doc:write',
    resource: 'doc/secret/draft',
    ...deniedBy('deny-secret'),
  },
  {
    title: 'a deny rule overrides an allow rule',
    principal: who('alice'),
    action: 'wiki:edit',
    resource: 'wiki/locked',
    ...deniedBy('deny-wiki-locked'),
  },
]

runCases(cases)
