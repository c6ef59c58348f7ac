// server.mjs against a stand-in issuer: a JWKS served from this process with a fresh ES256 key, so
// no Tollgate is needed. Everything listens on 127.0.0.1, on free ports.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';

const serverPath = fileURLToPath(new URL('../server.mjs', import.meta.url));
const kid = 'test-key';
const key = await generateKeyPair('ES256');
const children = [];
let jwksServer;
let issuer;
let mcp; // { child, url }

// Starts server.mjs and resolves with its URL once it prints the listening line.
async function startServer(env) {
  const { MCP_URL, MCP_HOST, ...inherited } = process.env;
  const child = spawn(process.execPath, [serverPath], {
    env: { ...inherited, MCP_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(`server.mjs exited (code ${code}) before listening: ${stderr}`);
  });
  exited.catch(() => {}); // matters only while waiting for the listening line
  const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error(`server.mjs did not start in 10 s: ${stderr}`)), 10_000).unref());
  const listening = (async () => {
    for await (const line of createInterface({ input: child.stdout })) {
      const match = /^mcp-server: listening on (\S+)$/.exec(line);
      if (match) return match[1];
    }
  })();
  return { child, url: await Promise.race([listening, exited, timeout]) };
}

before(async () => {
  const jwk = { ...(await exportJWK(key.publicKey)), kid, alg: 'ES256', use: 'sig' };
  jwksServer = createServer((req, res) => {
    if (req.url !== '/jwks') return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
  });
  jwksServer.listen(0, '127.0.0.1');
  await once(jwksServer, 'listening');
  issuer = `http://127.0.0.1:${jwksServer.address().port}`;
  mcp = await startServer({ TOLLGATE_ISSUER: issuer });
});

after(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  jwksServer?.close();
});

// A Tollgate-like access token for the server under test; `claims` and `header` override the defaults.
function token({ scope, claims = {}, header = {}, signingKey = key.privateKey, expiresIn = '5m' }) {
  return new SignJWT({ sub: 'user-1', client_id: 'test-client', scope, ...claims })
    .setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt', ...header })
    .setIssuer(claims.iss ?? issuer)
    .setAudience(claims.aud ?? mcp.url)
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(signingKey);
}

const rpc = (bearer, body) => fetch(mcp.url, {
  method: 'POST',
  headers: {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
  },
  body: JSON.stringify(body),
});

const metadataUrl = () => `${new URL(mcp.url).origin}/.well-known/oauth-protected-resource/mcp`;

async function connect(bearer) {
  const client = new Client({ name: 'tollgate-example-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(mcp.url), {
    requestInit: { headers: { Authorization: `Bearer ${bearer}` } },
  }));
  return client;
}

const textOf = (result) => JSON.parse(result.content[0].text);

test('publishes its protected resource metadata at both well-known paths', async () => {
  for (const path of ['/.well-known/oauth-protected-resource/mcp', '/.well-known/oauth-protected-resource']) {
    const response = await fetch(new URL(path, mcp.url));
    assert.equal(response.status, 200, path);
    assert.deepEqual(await response.json(), {
      resource: mcp.url,
      authorization_servers: [issuer],
      scopes_supported: ['mcp:calendar.read', 'mcp:calendar.write', 'mcp:invoice.create'],
      bearer_methods_supported: ['header'],
      resource_name: 'Tollgate example calendar MCP server',
    });
  }
});

test('401 with a bare resource_metadata challenge without a token', async () => {
  const response = await rpc(undefined, { jsonrpc: '2.0', id: 1, method: 'tools/list' });
  assert.equal(response.status, 401);
  assert.equal(response.headers.get('www-authenticate'), `Bearer resource_metadata="${metadataUrl()}"`);
  assert.equal((await response.json()).error, 'unauthorized');
});

test('401 invalid_token for a bad signature, another audience or issuer, an expired token or a plain JWT', async () => {
  const scope = 'mcp:calendar.read';
  const cases = {
    'bad signature': await token({ scope, signingKey: (await generateKeyPair('ES256')).privateKey }),
    'wrong aud': await token({ scope, claims: { aud: 'http://127.0.0.1:1/mcp' } }),
    'wrong iss': await token({ scope, claims: { iss: 'http://127.0.0.1:1' } }),
    expired: await token({ scope, expiresIn: Math.floor(Date.now() / 1000) - 120 }),
    'typ JWT': await token({ scope, header: { typ: 'JWT' } }),
  };
  for (const [name, bearer] of Object.entries(cases)) {
    const response = await rpc(bearer, { jsonrpc: '2.0', id: 1, method: 'tools/list' });
    assert.equal(response.status, 401, name);
    const challenge = response.headers.get('www-authenticate');
    assert.match(challenge, /^Bearer error="invalid_token", error_description="[^"]+", resource_metadata="([^"]+)"$/, name);
    assert.ok(challenge.endsWith(`resource_metadata="${metadataUrl()}"`), name);
    assert.equal((await response.json()).error, 'invalid_token', name);
  }
});

test('a calendar.read token lists every tool and may call list_events', async (t) => {
  const client = await connect(await token({ scope: 'mcp:calendar.read' }));
  t.after(() => client.close());
  const { tools } = await client.listTools();
  assert.deepEqual(tools.map((tool) => tool.name).sort(), ['create_event', 'create_invoice', 'list_events']);
  const events = textOf(await client.callTool({ name: 'list_events', arguments: {} }));
  assert.ok(events.length >= 3);
  assert.ok(events.every((event) => event.id && event.title && event.start));
});

test('403 insufficient_scope for create_invoice with calendar scopes, asking for the missing scope and keeping the granted ones', async () => {
  const bearer = await token({ scope: 'mcp:calendar.read mcp:calendar.write' });
  const response = await rpc(bearer, {
    jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'create_invoice', arguments: { customer: 'ACME', amountCents: 1000 } },
  });
  assert.equal(response.status, 403);
  assert.equal(
    response.headers.get('www-authenticate'),
    `Bearer error="insufficient_scope", scope="mcp:calendar.read mcp:calendar.write mcp:invoice.create", error_description="this call needs the scope mcp:invoice.create", resource_metadata="${metadataUrl()}"`,
  );
  assert.equal((await response.json()).error, 'insufficient_scope');

  // The SDK client (without an authProvider to step up with) surfaces the same refusal as an error.
  const client = await connect(bearer);
  try {
    await assert.rejects(client.callTool({ name: 'create_invoice', arguments: { customer: 'ACME', amountCents: 1000 } }), { code: 403 });
  } finally {
    await client.close();
  }
});

test('the write scopes create events and invoices', async (t) => {
  const client = await connect(await token({ scope: 'mcp:calendar.read mcp:calendar.write mcp:invoice.create' }));
  t.after(() => client.close());
  const event = textOf(await client.callTool({ name: 'create_event', arguments: { title: 'Retro', start: '2030-01-10T10:00:00Z' } }));
  assert.equal(event.title, 'Retro');
  const events = textOf(await client.callTool({ name: 'list_events', arguments: {} }));
  assert.ok(events.some((e) => e.id === event.id));
  const invoice = textOf(await client.callTool({ name: 'create_invoice', arguments: { customer: 'ACME', amountCents: 1000 } }));
  assert.match(invoice.id, /^inv-/);
  assert.equal(invoice.amountCents, 1000);
  const bad = await client.callTool({ name: 'create_event', arguments: { title: 'Retro', start: 'tomorrow' } });
  assert.equal(bad.isError, true);
});

test('503, not 401, when the issuer cannot be reached for its keys', async () => {
  const closed = createServer();
  closed.listen(0, '127.0.0.1');
  await once(closed, 'listening');
  const deadIssuer = `http://127.0.0.1:${closed.address().port}`;
  closed.close();
  const other = await startServer({ TOLLGATE_ISSUER: deadIssuer });
  const response = await fetch(other.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${await token({ scope: 'mcp:calendar.read' })}` },
    body: '{}',
  });
  assert.equal(response.status, 503);
  other.child.kill('SIGTERM');
  await once(other.child, 'exit');
});

test('MCP_RECENT_SIGN_IN: a tool that needs a recent sign-in answers 401 insufficient_user_authentication with max_age', async () => {
  const other = await startServer({ TOLLGATE_ISSUER: issuer, MCP_RECENT_SIGN_IN: 'create_invoice:300' });
  try {
    const now = Math.floor(Date.now() / 1000);
    const scope = 'mcp:calendar.read mcp:invoice.create';
    const call = async (claims, name = 'create_invoice') => fetch(other.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        authorization: `Bearer ${await token({ scope, claims: { aud: other.url, ...claims } })}`,
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: { customer: 'ACME', amountCents: 1000 } } }),
    });
    const metadata = `${new URL(other.url).origin}/.well-known/oauth-protected-resource/mcp`;
    for (const [why, claims] of [['an old sign-in', { auth_time: now - 600 }], ['no auth_time', {}], ['one from the future', { auth_time: now + 3600 }]]) {
      const refused = await call(claims);
      assert.equal(refused.status, 401, why);
      assert.equal(
        refused.headers.get('www-authenticate'),
        `Bearer error="insufficient_user_authentication", error_description="this call needs a sign-in in the last 300 seconds", max_age="300", resource_metadata="${metadata}"`,
        why,
      );
      assert.equal((await refused.json()).error, 'insufficient_user_authentication', why);
    }
    // A recent sign-in passes the check; so does a tool without the rule, whatever the sign-in.
    for (const [why, response] of [['recent', await call({ auth_time: now - 10 })], ['other tool', await call({}, 'list_events')]]) {
      assert.notEqual(response.status, 401, why);
      assert.equal(response.headers.get('www-authenticate'), null, why);
    }
  } finally {
    other.child.kill('SIGTERM');
    await once(other.child, 'exit');
  }
  // A malformed setting stops the server with a message.
  const bad = spawn(process.execPath, [serverPath], {
    env: { ...process.env, MCP_PORT: '0', TOLLGATE_ISSUER: issuer, MCP_RECENT_SIGN_IN: 'create_invoice:soon' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(bad);
  let stderr = '';
  bad.stderr.on('data', (chunk) => { stderr += chunk; });
  const [code] = await once(bad, 'exit');
  assert.equal(code, 1);
  assert.match(stderr, /MCP_RECENT_SIGN_IN must be tool:seconds pairs/);
});

test('stops cleanly on SIGTERM', async () => {
  mcp.child.kill('SIGTERM');
  const [code, signal] = await once(mcp.child, 'exit');
  assert.deepEqual({ code, signal }, { code: 0, signal: null });
});
