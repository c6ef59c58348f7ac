// Three `tollgate serve` replicas on one PostgreSQL behind nginx: any replica serves any step of
// any flow, a change made at one reaches the others (announced with LISTEN/NOTIFY), one code or
// refresh token used at two replicas at once is honoured once, a replica killed under load loses
// nothing acknowledged, and a database restart is survived without restarting a replica. A
// browser session survives a server restart, on PostgreSQL and on SQLite.
//
// Run by tests/e2e/replicas.sh; every process is started here and stopped by PID.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import {
  ACCESS_TOKEN, BIN, DIR, REPORTS, SECRETS, TOKEN_EXCHANGE, admin, allow, authorizationRequest,
  form, freePort, launchBrowser, pageAt, percentile, redeem, replicaConfig, signIn, sleep,
  startNginx, startPostgres, startReplica, workerToken,
} from './cluster.mjs';

const CALLBACK = 'https://web.replicas.example/callback';
/** The longest a change may take to reach every replica: the store's poll (2 s) and a margin. */
const PROPAGATION_BOUND_MS = 5_000;

let pg;
let lb;
let issuer;
const ports = {};
const replicas = {};
let launched;

async function start(name) {
  replicas[name] = await startReplica(name, replicaConfig({
    issuer, port: ports[name], store: pg.url, name, callback: CALLBACK,
  }), ports[name]);
  return replicas[name];
}

before(async () => {
  pg = await startPostgres('postgres');
  const lbPort = await freePort();
  issuer = `http://127.0.0.1:${lbPort}`;
  for (const name of ['a', 'b', 'c']) ports[name] = await freePort();
  // One first, so the others find the schema (they would wait on the migration lock anyway).
  await start('a');
  await Promise.all([start('b'), start('c')]);
  lb = await startNginx(lbPort, Object.values(replicas).map((r) => r.url));
  launched = await launchBrowser();
});

after(async () => {
  await launched?.close();
  await lb?.stop();
  await Promise.all(Object.values(replicas).map((r) => r.kill()));
  await pg?.stop();
});

/** Polls `check` (resolving to true once the change is seen) until it holds; returns the ms. */
async function until(check, what, started = Date.now()) {
  while (!(await check())) {
    assert.ok(Date.now() - started < PROPAGATION_BOUND_MS, `${what}: not seen within ${PROPAGATION_BOUND_MS} ms`);
    await sleep(2);
  }
  return Date.now() - started;
}

const WRITE_POLICY = {
  id: 'workers-write',
  subject: { clients: ['worker'] },
  grantTypes: ['client_credentials'],
  targets: [{ resource: 'orders-api', scopes: ['orders:write'] }],
};

test('a policy changed through A is in force at B and C: propagation over 100 changes', async () => {
  const a = replicas.a.url;
  const granted = async (base) => (await workerToken(base, 'orders:write')).status === 200;
  assert.equal((await admin(a, 'POST', '/admin/policies', WRITE_POLICY)).status, 201);
  const times = [];
  for (let i = 0; i < 100; i += 1) {
    const deleting = i % 2 === 0;
    const started = Date.now();
    const answer = deleting
      ? await admin(a, 'DELETE', `/admin/policies/${WRITE_POLICY.id}`)
      : await admin(a, 'POST', '/admin/policies', WRITE_POLICY);
    assert.equal(answer.status, deleting ? 204 : 201, JSON.stringify(answer.body));
    const acknowledged = Date.now();
    await Promise.all(['b', 'c'].map((name) => until(
      async () => (await granted(replicas[name].url)) !== deleting,
      `change ${i} at ${name}`,
      acknowledged,
    )));
    times.push(Date.now() - acknowledged);
    assert.ok(started <= acknowledged);
  }
  const p50 = percentile(times, 50);
  const p99 = percentile(times, 99);
  console.log(`replicas: propagation of 100 policy changes from A to B and C: p50 ${p50} ms, p99 ${p99} ms, max ${Math.max(...times)} ms`);
  // After an even number of changes the policy exists again; remove it.
  assert.equal((await admin(a, 'DELETE', `/admin/policies/${WRITE_POLICY.id}`)).status, 204);
});

test('a token revoked at A is inactive at B and refused by C\'s token exchange', async () => {
  const issued = await workerToken(replicas.a.url);
  assert.equal(issued.status, 200, JSON.stringify(issued.body));
  const token = issued.body.access_token;
  const introspect = async (base) => (await form(`${base}/introspect`, { token }, ['worker', SECRETS.worker])).body;
  const exchange = (base) => form(`${base}/token`, {
    grant_type: TOKEN_EXCHANGE, subject_token: token, subject_token_type: ACCESS_TOKEN, resource: REPORTS,
  }, ['exchanger', SECRETS.exchanger]);
  assert.equal((await introspect(replicas.b.url)).active, true);
  assert.equal((await exchange(replicas.c.url)).status, 200, 'exchanged before the revocation');

  const revoked = await form(`${replicas.a.url}/revoke`, { token }, ['worker', SECRETS.worker]);
  assert.equal(revoked.status, 200);
  const acknowledged = Date.now();
  const atB = await until(async () => (await introspect(replicas.b.url)).active === false, 'inactive at B', acknowledged);
  const atC = await until(async () => (await exchange(replicas.c.url)).status === 400, 'refused at C', acknowledged);
  const refused = await exchange(replicas.c.url);
  assert.equal(refused.body.error, 'invalid_grant', JSON.stringify(refused.body));
  console.log(`replicas: revocation at A seen by B's introspection after ${atB} ms, by C's exchange after ${atC} ms`);
});

test('a code from A\'s consent page is redeemed at B; a code and a refresh token used at A and B at once succeed at most once each', async () => {
  // Through A: the browser thinks it talks to the issuer (nginx); the test routes it to A.
  const first = authorizationRequest(issuer, CALLBACK);
  const atA = await pageAt(launched.browser, { issuer, callback: CALLBACK, replica: replicas.a.url });
  await atA.page.goto(first.url);
  await signIn(atA.page);
  const code = await allow(atA.page, atA.arrived);
  const redeemed = await redeem(replicas.b.url, code, first.verifier, CALLBACK);
  assert.equal(redeemed.status, 200, JSON.stringify(redeemed.body));
  assert.ok(redeemed.body.refresh_token, 'the web client gets a refresh token');

  // The same browser session (already signed in) asks again: a second code, sent to A and B at once.
  const second = authorizationRequest(issuer, CALLBACK);
  const again = await pageAt(launched.browser, { issuer, callback: CALLBACK, replica: replicas.a.url });
  await again.page.goto(second.url);
  await signIn(again.page);
  const code2 = await allow(again.page, again.arrived);
  const both = await Promise.all([replicas.a.url, replicas.b.url].map((base) => redeem(base, code2, second.verifier, CALLBACK)));
  onceAtMost(both);
  await atA.context.close();
  await again.context.close();

  // One refresh token rotated at A and B at once: used once; the loser's reuse revoked the
  // family, so a successor, if the winner got one, is refused too.
  const refresh = (base, token) => form(`${base}/token`, { grant_type: 'refresh_token', refresh_token: token },
    ['web', SECRETS.web]);
  const rotated = await Promise.all([replicas.a.url, replicas.b.url].map((base) => refresh(base, redeemed.body.refresh_token)));
  onceAtMost(rotated);
  const successor = rotated.find((r) => r.status === 200)?.body.refresh_token;
  if (successor) {
    const after = await refresh(replicas.c.url, successor);
    assert.equal(after.status, 400, 'the family was revoked when the rotated token came back');
    assert.equal(after.body.error, 'invalid_grant');
  }
});

/**
 * Two uses of one code or refresh token at once: the first to mark it used wins and the other's
 * replay revokes the family. The winner answers 200 when it recorded its tokens before that
 * revocation (which then revokes them too), 400 when the revocation came first: never two
 * successes, never a live token after the replay.
 */
function onceAtMost(answers) {
  const bodies = JSON.stringify(answers.map((r) => r.body));
  assert.ok(answers.every((r) => r.status === 200 || r.status === 400), bodies);
  assert.ok(answers.filter((r) => r.status === 200).length <= 1, bodies);
  for (const r of answers.filter((a) => a.status === 400)) assert.equal(r.body.error, 'invalid_grant', bodies);
  console.log(`replicas: used at A and B at once: ${answers.map((r) => r.status).join(' and ')}`);
}

test('kill -9 of B under load through nginx: A and C answer everything they receive, and every acknowledged write survives', async () => {
  const upstream = (headers) => headers.get('x-upstream') ?? '';
  const hostOf = (name) => new URL(replicas[name].url).host;
  const results = [];
  const acknowledged = [];
  let running = true;
  const load = Array.from({ length: 8 }, async () => {
    while (running) {
      try {
        const r = await workerToken(lb.url);
        results.push({ status: r.status, upstream: upstream(r.headers) });
      } catch (e) {
        results.push({ status: 0, upstream: '', error: String(e) });
      }
    }
  });
  // Admin writes at B until it dies: each acknowledged one must be in the store afterwards.
  const writes = (async () => {
    for (let i = 0; running; i += 1) {
      const id = `kept-${i}`;
      try {
        const r = await admin(replicas.b.url, 'POST', '/admin/policies', { ...WRITE_POLICY, id });
        if (r.status === 201) acknowledged.push(id);
      } catch {
        return;
      }
    }
  })();
  await sleep(1500);
  await replicas.b.kill('SIGKILL');
  await sleep(2500);
  running = false;
  await Promise.all([...load, writes]);

  const fromAC = results.filter((r) => r.upstream.includes(hostOf('a')) || r.upstream.includes(hostOf('c')));
  const failedAtAC = fromAC.filter((r) => r.status !== 200);
  const other = results.filter((r) => !fromAC.includes(r));
  console.log(`replicas: ${results.length} token requests through nginx, ${fromAC.length} answered by A or C ` +
    `(${failedAtAC.length} not 200), ${other.filter((r) => r.status !== 200).length} lost with B; ` +
    `${acknowledged.length} admin writes acknowledged by B before the kill`);
  assert.ok(fromAC.length > 100, 'A and C took the load');
  assert.deepEqual(failedAtAC, [], 'A and C answered everything they received');
  assert.ok(acknowledged.length > 0, 'B acknowledged writes before it was killed');
  for (const id of acknowledged) {
    const r = await admin(replicas.a.url, 'GET', `/admin/policies/${id}`);
    assert.equal(r.status, 200, `acknowledged write ${id} is in the store`);
  }
  for (const id of acknowledged) await admin(replicas.a.url, 'DELETE', `/admin/policies/${id}`);
  await start('b');
});

test('PostgreSQL restarted: what needs it is answered 503, every replica recovers by itself and propagates the next change', async () => {
  const needsStore = (base) => form(`${base}/revoke`, { token: randomBytes(16).toString('hex') }, ['worker', SECRETS.worker]);
  for (const r of Object.values(replicas)) assert.equal((await needsStore(r.url)).status, 200);
  await pg.stop();
  for (const r of Object.values(replicas)) {
    const started = Date.now();
    const answer = await needsStore(r.url);
    const took = Date.now() - started;
    assert.equal(answer.status, 503, `${r.name}: ${JSON.stringify(answer.body)}`);
    assert.equal(answer.body.error, 'temporarily_unavailable');
    assert.ok(answer.headers.get('retry-after'), 'with Retry-After');
    assert.ok(took < 10_000, `${r.name} answered within the bound (${took} ms)`);
    // Issuing a client_credentials token needs only what is in memory (the audit event waits in
    // the queue until the store is back).
    assert.equal((await workerToken(r.url)).status, 200, `${r.name} still issues from memory`);
  }
  pg.start();
  for (const r of Object.values(replicas)) {
    await until(async () => (await needsStore(r.url)).status === 200, `${r.name} recovered`, Date.now() - PROPAGATION_BOUND_MS + 30_000);
  }
  // The next change reaches every replica (their listeners reconnected, or the poll catches it).
  assert.equal((await admin(replicas.a.url, 'POST', '/admin/policies', WRITE_POLICY)).status, 201);
  const acknowledged = Date.now();
  for (const name of ['b', 'c']) {
    await until(async () => (await workerToken(replicas[name].url, 'orders:write')).status === 200,
      `the change at ${name} after the restart`, acknowledged);
  }
  assert.equal((await admin(replicas.a.url, 'DELETE', `/admin/policies/${WRITE_POLICY.id}`)).status, 204);
});

test('keys rotated with `tollgate keys rotate` appear in every replica\'s JWKS and sign their tokens', async () => {
  const printed = execFileSync(BIN, ['keys', 'rotate', '--config', join(DIR, 'a.yaml')], {
    env: { ...process.env, TOLLGATE_LOG: 'warn' },
  }).toString();
  const kid = printed.match(/new signing key `([^`]+)`/)?.[1];
  assert.ok(kid, printed);
  const acknowledged = Date.now();
  for (const r of Object.values(replicas)) {
    const took = await until(async () => {
      const jwks = await (await fetch(`${r.url}/jwks`)).json();
      return jwks.keys.some((k) => k.kid === kid);
    }, `the new key at ${r.name}`, acknowledged);
    const issued = await workerToken(r.url);
    const header = JSON.parse(Buffer.from(issued.body.access_token.split('.')[0], 'base64url'));
    assert.equal(header.kid, kid, `${r.name} signs with the new key`);
    console.log(`replicas: the rotated key is published by ${r.name} after ${took} ms`);
  }
});

/** Signs in through a browser whose requests to `issuer` go to `server()`, restarts that server
 * with `restart()`, then consents there and redeems the code there. */
async function sessionSurvivesRestart(issuerUrl, server, restart) {
  const request = authorizationRequest(issuerUrl, CALLBACK);
  const at = await pageAt(launched.browser, { issuer: issuerUrl, callback: CALLBACK, replica: server() });
  await at.page.goto(request.url);
  await signIn(at.page);
  await restart();
  at.target.replica = server();
  const code = await allow(at.page, at.arrived);
  const redeemed = await redeem(server(), code, request.verifier, CALLBACK);
  assert.equal(redeemed.status, 200, JSON.stringify(redeemed.body));
  await at.context.close();
}

test('a browser session survives a restart, on PostgreSQL', async () => {
  await sessionSurvivesRestart(issuer, () => replicas.a.url, async () => {
    await replicas.a.kill();
    await start('a');
  });
});

test('a browser session survives a restart, on SQLite', async () => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const config = replicaConfig({
    issuer: base, port, store: `sqlite://${join(DIR, 'single.db')}`, name: 'single', callback: CALLBACK,
  });
  let server = await startReplica('single', config, port);
  try {
    await sessionSurvivesRestart(base, () => base, async () => {
      await server.kill();
      server = await startReplica('single', config, port);
    });
  } finally {
    await server.kill();
  }
});
