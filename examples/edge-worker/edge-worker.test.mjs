// The edge-worker example in workerd on 127.0.0.1: 401 without a valid token, 403 when policy or
// the token's scope refuse, 200 when both allow. Run by `npm --prefix js test`.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { bin, freePort, js, start, waitForHttp } from '../../js/test/procs.mjs';
import { init, sign } from './token.mjs';

const here = dirname(fileURLToPath(import.meta.url));
// The example's own config, in a copy of its layout with fresh keys (examples/edge-worker and js/).
const root = mkdtempSync(join(tmpdir(), 'tollgate-edge-'));
const dir = join(root, 'examples', 'edge-worker');
let server;
let base;

before(async () => {
  mkdirSync(dir, { recursive: true });
  for (const f of ['config.capnp', 'worker.js', 'policies.yaml']) copyFileSync(join(here, f), join(dir, f));
  symlinkSync(js, join(root, 'js'));
  await init(dir);
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  server = start(bin('workerd'), ['serve', join(dir, 'config.capnp'), '--socket-addr', `http=127.0.0.1:${port}`]);
  await waitForHttp(`${base}/health`, server);
});

after(async () => {
  await server?.stop();
  rmSync(root, { recursive: true, force: true });
});

const call = async (method, path, token) => fetch(`${base}${path}`, {
  method,
  headers: token ? { authorization: `Bearer ${token}` } : {},
});

const sre = { sub: 'u-1', client_id: 'incident-console', roles: ['SRE'], org: { dept: 'ops' }, scope: 'incidents:read incidents:write runbook:execute' };

test('401 without a token, with a bad signature, expired or for another audience', async () => {
  assert.equal((await call('GET', '/incidents')).status, 401);
  const token = await sign(dir, sre);
  const tampered = `${token.slice(0, -4)}${token.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
  assert.equal((await call('GET', '/incidents', tampered)).status, 401);
  assert.equal((await call('GET', '/incidents', await sign(dir, { ...sre, exp: 1 }))).status, 401);
  const response = await call('GET', '/incidents', await sign(dir, { ...sre, aud: 'https://other.example.com' }));
  assert.equal(response.status, 401);
  assert.match(response.headers.get('www-authenticate'), /invalid_token/);
});

test('200 when the policies and the token allow the route', async () => {
  const response = await call('POST', '/runbooks/restart', await sign(dir, sre));
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), { ok: true, scope: 'runbook:execute', allowedBy: ['ops-sre-write'] });
  const agent = await sign(dir, { sub: 'ops-agent', client_id: 'ops-agent', scope: 'incidents:read' });
  assert.equal((await call('GET', '/incidents', agent)).status, 200);
});

test('403 when the policies refuse, even if the token carries the scope', async () => {
  const responder = await sign(dir, { ...sre, roles: ['responder'] });
  assert.equal((await call('GET', '/incidents', responder)).status, 200);
  const refused = await call('POST', '/incidents', responder);
  assert.equal(refused.status, 403);
  assert.match(refused.headers.get('www-authenticate'), /insufficient_scope.*incidents:write/);
  const otherDept = await sign(dir, { ...sre, org: { dept: 'finance' } });
  assert.equal((await call('POST', '/incidents', otherDept)).status, 403);
  const agent = await sign(dir, { sub: 'ops-agent', client_id: 'ops-agent', scope: 'incidents:read incidents:write' });
  assert.equal((await call('POST', '/incidents', agent)).status, 403);
});

test('403 when the token lacks the scope the policies would give', async () => {
  const narrow = await sign(dir, { ...sre, scope: 'incidents:read' });
  assert.equal((await call('POST', '/incidents', narrow)).status, 403);
});
