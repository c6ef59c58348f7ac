// The package API in Node: load (text, YAML, object, errors), decide, decideMany, free.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PolicySet } from '@tollgate/engine';

const YAML = `
version: 1
resources:
  - { id: billing-api, audience: "https://billing.example.com", kind: api,
      scopes: ["ledger:read", "ledger:write", "ledger:admin"] }
connections:
  - { id: pagerduty, kind: api_key }
policies:
  - id: nightly-ledger
    subject: { clients: [reconcile-worker] }
    grantTypes: [client_credentials]
    targets: [ { resource: billing-api, scopes: ["ledger:read", "ledger:write"] } ]
  - id: sre-pager
    mode: enforce
    subject:
      conditions: [ { key: user.roles, op: contains, value: SRE } ]
    targets: [ { connection: pagerduty } ]
`;

const request = {
  grantType: 'client_credentials',
  client: { clientId: 'reconcile-worker' },
  target: { resource: 'billing-api' },
  requestedScopes: ['ledger:read', 'ledger:admin'],
};

test('load YAML text and decide (the engine README example)', () => {
  const set = PolicySet.load(YAML);
  const decision = set.decide(request);
  assert.equal(decision.permitted, true);
  assert.deepEqual(decision.granted, ['ledger:read']);
  assert.deepEqual(decision.matched, ['nightly-ledger']);
  assert.deepEqual(decision.scopes[1], { scope: 'ledger:admin', granted: false, by: [], reason: 'not_allowed' });
  set.free();
});

test('a request given as JSON text decides like the object', () => {
  const set = PolicySet.load(YAML);
  assert.deepEqual(set.decide(JSON.stringify(request)), set.decide(request));
  set.free();
});

test('a scope-less connection is permitted when a policy matches', () => {
  const set = PolicySet.load(YAML);
  const sre = { grantType: 'authorization_code', user: { sub: 'u1', roles: ['SRE'] }, target: { connection: 'pagerduty' } };
  assert.equal(set.decide(sre).permitted, true);
  const other = { ...sre, user: { sub: 'u2', roles: ['dev'] } };
  const refused = set.decide(other);
  assert.equal(refused.permitted, false);
  assert.deepEqual(refused.notMatched, [{ policy: 'sre-pager', failed: 'condition 0: user.roles contains SRE' }]);
  assert.deepEqual(set.decide({ ...other, explain: false }).notMatched, []);
  set.free();
});

test('load throws every validation error with its path', () => {
  const doc = {
    version: 1,
    resources: [{ id: 'api', audience: 'https://a', kind: 'api', scopes: ['read'] }],
    policies: [
      { id: 'p1', subject: { conditions: [{ key: 'user.roles', op: 'in', value: 'x' }] }, targets: [{ resource: 'api', scopes: ['read'] }] },
      { id: 'p1', targets: [{ resource: 'nope', scopes: ['read'] }] },
    ],
    extra: true,
  };
  assert.throws(() => PolicySet.load(doc), (error) => {
    assert.ok(error instanceof Error);
    assert.equal(error.name, 'PolicyLoadError');
    const paths = error.errors.map((e) => e.path);
    assert.ok(paths.includes('extra'), paths.join(', '));
    assert.ok(paths.some((p) => p.startsWith('policies[0].subject.conditions[0]')), paths.join(', '));
    assert.ok(paths.some((p) => p.startsWith('policies[1]')), paths.join(', '));
    assert.ok(error.errors.length >= 3);
    for (const e of error.errors) assert.equal(typeof e.message, 'string');
    return true;
  });
});

test('load refuses values that are not documents', () => {
  for (const bad of [42, undefined, null, true]) {
    assert.throws(() => PolicySet.load(bad), (e) => e.name === 'PolicyLoadError' && e.errors.length === 1);
  }
  assert.throws(() => PolicySet.load({ version: 1n }), (e) => e.name === 'PolicyLoadError');
  assert.throws(() => PolicySet.load('version: [unclosed'), (e) => e.name === 'PolicyLoadError');
});

test('decide throws a RequestError for a request the engine cannot read', () => {
  const set = PolicySet.load(YAML);
  assert.throws(() => set.decide({ grantType: 'password', target: { resource: 'billing-api' } }), { name: 'RequestError' });
  assert.throws(() => set.decide({ ...request, unknownKey: 1 }), /unknown field/);
  assert.throws(() => set.decide({ ...request, context: { ip: 'not-an-ip' } }), { name: 'RequestError' });
  assert.throws(() => set.decide(7), { name: 'RequestError' });
  set.free();
});

test('decideMany answers each request, with { error } for unreadable ones', () => {
  const set = PolicySet.load(YAML);
  const answers = set.decideMany([request, { grantType: 'nope' }, { ...request, client: { clientId: 'other' } }]);
  assert.equal(answers.length, 3);
  assert.deepEqual(answers[0], set.decide(request));
  assert.match(answers[1].error, /invalid request/);
  assert.equal(answers[2].permitted, false);
  assert.deepEqual(set.decideMany([]), []);
  assert.throws(() => set.decideMany({ not: 'an array' }), { name: 'RequestError' });
  set.free();
});

test('free releases the set; using it afterwards throws', () => {
  const set = PolicySet.load(YAML);
  set.free();
  assert.throws(() => set.decide(request));
});

test('Symbol.dispose frees the set', () => {
  const set = PolicySet.load(YAML);
  set[Symbol.dispose]();
  assert.throws(() => set.decide(request));
});

test('sets dropped without free() are reclaimed by the FinalizationRegistry', async (t) => {
  if (typeof globalThis.gc !== 'function') {
    t.skip('needs node --expose-gc (npm test passes it)');
    return;
  }
  // A large document makes a leak visible in the wasm heap; memory grows but never shrinks, so
  // the check is that repeated load-and-drop rounds stop growing it once sets are reclaimed.
  const policies = Array.from({ length: 2000 }, (_, i) => ({ id: `p${i}`, subject: { clients: [`c${i}`] }, targets: [{ resource: 'api', scopes: ['read'] }] }));
  const doc = JSON.stringify({ version: 1, resources: [{ id: 'api', audience: 'https://a', kind: 'api', scopes: ['read'] }], policies });
  const { memory } = await import('./wasm-memory.mjs');
  const round = async () => {
    for (let i = 0; i < 20; i++) PolicySet.load(doc);
    for (let i = 0; i < 5; i++) {
      globalThis.gc();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  await round();
  const after1 = memory().buffer.byteLength;
  for (let i = 0; i < 5; i++) await round();
  const after6 = memory().buffer.byteLength;
  assert.ok(after6 <= after1 * 1.5, `wasm memory kept growing: ${after1} -> ${after6} bytes`);
});
