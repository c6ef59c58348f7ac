// Tollgate as the authorization server of an MCP server, driven by the official MCP TypeScript SDK
// client (@modelcontextprotocol/sdk): `tollgate serve` and the example MCP server
// (examples/mcp-server) run as child processes on free 127.0.0.1 ports; a headless Chromium signs
// in as the user and answers the consent page.
//
//   - discovery: the MCP server's 401 and its RFC 9728 metadata name Tollgate, whose RFC 8414
//     metadata advertises what MCP clients need (S256, registration, `iss`, CIMD);
//   - dynamic client registration (RFC 7591/7592): the SDK registers, the user approves one scope
//     of the two that policy allows, the token carries exactly that one and the tool that needs it
//     works; the tools needing other scopes are refused with 403 `insufficient_scope`, and the
//     SDK's step-up does not get them either;
//   - a client ID metadata document (CIMD) served over http on loopback (the server allows it
//     under `allowLocalMetadataDocuments`): both policy scopes approved, both calendar tools work;
//   - a scope that no policy grants is never issued, even when the client asks for it alone;
//   - refusing consent answers `error=access_denied` with `state` and `iss`;
//   - the refresh token (when issued) refreshes through the SDK.
//
// The SDK checks neither `iss` in the authorization response (RFC 9207) nor `state`: the tests do.
// Environment: TOLLGATE_BIN (the binary), TOLLGATE_E2E_DIR (a temporary directory).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError, auth } from '@modelcontextprotocol/sdk/client/auth.js';
import {
  ADA, INVOICE, READ, WRITE, allocate, browserLogin, freePort, launchBrowser, startMcpServer, startTollgate,
} from './lib.mjs';

let run;
let tollgate;
let mcp;
let chromium;
let redirectUrl;
let cimd;
let cimdUrl;
/** Requests Tollgate made for the client ID metadata document. */
const cimdFetches = [];

before(async () => {
  run = await allocate('mcp');
  // Nothing listens at the clients' redirect URI: the browser stops there (see browserLogin).
  redirectUrl = `http://127.0.0.1:${await freePort()}/callback`;
  const cimdPort = await freePort();
  cimdUrl = `http://127.0.0.1:${cimdPort}/clients/tollgate-e2e.json`;
  cimd = createServer((req, res) => {
    cimdFetches.push({ url: req.url, method: req.method, headers: req.headers });
    if (req.method === 'GET' && req.url === '/clients/tollgate-e2e.json') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({
        client_id: cimdUrl,
        client_name: 'Tollgate e2e client (metadata document)',
        redirect_uris: [redirectUrl],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'none',
      }));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve) => cimd.listen(cimdPort, '127.0.0.1', resolve));
  tollgate = await startTollgate(run);
  mcp = await startMcpServer(run);
  chromium = await launchBrowser();
});

after(async () => {
  await chromium?.close();
  await mcp?.stop();
  await tollgate?.stop();
  await new Promise((resolve) => (cimd ? cimd.close(resolve) : resolve()));
});

/**
 * An OAuthClientProvider kept in memory for one test: what the SDK saves is read back unchanged,
 * and each authorization URL the SDK would send the user to is recorded (the test then drives
 * the browser there).
 */
class MemoryProvider {
  constructor({ clientName, clientInformation } = {}) {
    this.name = clientName ?? 'Tollgate e2e client (dynamic registration)';
    this.client = clientInformation;
    this.saved = undefined;
    this.verifier = undefined;
    this.authorizationUrls = [];
    this.states = [];
    this.invalidated = [];
  }

  get redirectUrl() {
    return redirectUrl;
  }

  get clientMetadata() {
    return {
      client_name: this.name,
      redirect_uris: [redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }

  state() {
    const state = randomBytes(16).toString('base64url');
    this.states.push(state);
    return state;
  }

  clientInformation() {
    return this.client;
  }

  saveClientInformation(information) {
    this.client = information;
  }

  tokens() {
    return this.saved;
  }

  saveTokens(tokens) {
    this.saved = tokens;
  }

  redirectToAuthorization(url) {
    this.authorizationUrls.push(new URL(url.href));
  }

  saveCodeVerifier(verifier) {
    this.verifier = verifier;
  }

  codeVerifier() {
    assert.ok(this.verifier, 'a code verifier was saved before the code exchange');
    return this.verifier;
  }

  invalidateCredentials(scope) {
    this.invalidated.push(scope);
    if (scope === 'all' || scope === 'client') this.client = undefined;
    if (scope === 'all' || scope === 'tokens') this.saved = undefined;
    if (scope === 'all' || scope === 'verifier') this.verifier = undefined;
  }
}

/**
 * Raw dynamic registration responses, by client id: the SDK keeps only RFC 7591's client
 * information and drops RFC 7592's registration_access_token and registration_client_uri.
 */
const registrations = new Map();

/**
 * A fetch for the SDK that remembers every response (status and WWW-Authenticate), and the body
 * of each dynamic registration response.
 */
function recordingFetch(log) {
  return async (url, init) => {
    const response = await fetch(url, init);
    if (String(url) === `${run.issuer}/register` && init?.method === 'POST' && response.ok) {
      const body = await response.clone().json();
      registrations.set(body.client_id, body);
    }
    log.push({
      url: String(url),
      method: init?.method ?? 'GET',
      status: response.status,
      wwwAuthenticate: response.headers.get('www-authenticate') ?? undefined,
    });
    return response;
  };
}

function transportFor(provider, log = []) {
  return new StreamableHTTPClientTransport(new URL(run.mcpUrl), { authProvider: provider, fetch: recordingFetch(log) });
}

function newClient() {
  return new Client({ name: 'tollgate-e2e', version: '0.0.0' });
}

/** The claims of a JWT access token (not verified here: the MCP server verifies it). */
function claims(token) {
  const parts = token.split('.');
  assert.equal(parts.length, 3, 'the access token is a JWT');
  return JSON.parse(Buffer.from(parts[1], 'base64url').toString());
}

/** Sample arguments for a tool, from the required properties of its input schema. */
function sampleArguments(tool) {
  const args = {};
  const properties = tool?.inputSchema?.properties ?? {};
  for (const name of tool?.inputSchema?.required ?? []) {
    const p = properties[name] ?? {};
    if (p.enum?.length) args[name] = p.enum[0];
    else if (p.type === 'number' || p.type === 'integer') args[name] = p.minimum ?? 1;
    else if (p.type === 'boolean') args[name] = false;
    else if (p.type === 'array') args[name] = [];
    else if (p.type === 'object') args[name] = {};
    else if (p.format === 'date-time' || /start|end|time|date|when/i.test(name)) args[name] = '2030-01-02T09:00:00Z';
    else if (p.format === 'date') args[name] = '2030-01-02';
    else if (p.format === 'email') args[name] = 'ada@example.com';
    else args[name] = `e2e ${name}`;
  }
  return args;
}

/** Calls a tool with sample arguments made from its schema (as `tools/list` describes it). */
async function callTool(client, name) {
  const { tools } = await client.listTools();
  const tool = tools.find((t) => t.name === name);
  assert.ok(tool, `the MCP server lists ${name}: ${tools.map((t) => t.name)}`);
  return client.callTool({ name, arguments: sampleArguments(tool) });
}

/** Checks the authorization request the SDK built: to Tollgate, PKCE S256, the MCP resource. */
function checkAuthorizationRequest(url, provider) {
  assert.equal(url.origin + url.pathname, `${run.issuer}/authorize`);
  assert.equal(url.searchParams.get('response_type'), 'code');
  assert.equal(url.searchParams.get('client_id'), provider.client.client_id);
  assert.equal(url.searchParams.get('redirect_uri'), redirectUrl);
  assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
  assert.match(url.searchParams.get('code_challenge'), /^[A-Za-z0-9_-]{43}$/);
  assert.equal(url.searchParams.get('resource'), run.mcpUrl, 'RFC 8707 resource: the MCP server');
  assert.equal(url.searchParams.get('state'), provider.states.at(-1));
}

/** Checks an authorization response (RFC 9207 `iss`, `state`), which the SDK does not. */
function checkAuthorizationResponse(result, provider) {
  assert.equal(result.params.getAll('iss').length, 1, `one iss in ${result.url}`);
  assert.equal(result.iss, run.issuer, 'RFC 9207: iss is the issuer');
  assert.equal(result.params.getAll('state').length, 1, `one state in ${result.url}`);
  assert.equal(result.state, provider.states.at(-1));
}

/**
 * The whole first connection: the SDK's connect is refused (401), it discovers Tollgate and
 * registers (or uses the given client id), then asks to send the user to Tollgate; the browser
 * signs in and approves `approve`; `finishAuth` exchanges the code; a second connection works.
 */
async function connectWithLogin(provider, { approve } = {}) {
  const log = [];
  const first = newClient();
  await assert.rejects(first.connect(transportFor(provider, log)), UnauthorizedError);
  assert.equal(log[0]?.status, 401, 'the MCP server refuses the first request without a token');
  assert.match(log[0].wwwAuthenticate ?? '', /^Bearer /i);
  assert.equal(provider.authorizationUrls.length, 1, 'the SDK sends the user to the authorization server once');
  const authorizationUrl = provider.authorizationUrls[0];
  checkAuthorizationRequest(authorizationUrl, provider);

  const result = await browserLogin(authorizationUrl.href, { browser: chromium.browser, approve });
  assert.equal(result.error, undefined, `authorization error: ${result.error} ${result.errorDescription ?? ''}`);
  assert.ok(result.code, `a code in ${result.url}`);
  checkAuthorizationResponse(result, provider);

  const transport = transportFor(provider, log);
  await transport.finishAuth(result.code);
  const tokens = provider.tokens();
  assert.ok(tokens?.access_token, 'finishAuth saved an access token');
  assert.match(tokens.token_type, /^bearer$/i);

  const client = newClient();
  await client.connect(transportFor(provider, log));
  return { client, authorizationUrl, result, tokens, log };
}

/**
 * Calls a tool the token lacks the scope for and expects Tollgate's refusal to stand: the MCP
 * server answers 403 `insufficient_scope`; the SDK tries step-up authorization, either by
 * refreshing (the same scopes come back, the 403 repeats and the SDK gives up with a 403) or by
 * sending the user to Tollgate again (recorded, and the call fails with UnauthorizedError).
 */
async function expectInsufficientScope(provider, name, wanted) {
  const log = [];
  const client = newClient();
  await client.connect(transportFor(provider, log));
  const before = provider.authorizationUrls.length;
  const kept = provider.tokens();
  let args = {};
  try {
    args = sampleArguments((await client.listTools()).tools.find((t) => t.name === name));
  } catch { /* tools/list refused too: call with no arguments */ }
  let error;
  let result;
  try {
    result = await client.callTool({ name, arguments: args });
  } catch (e) {
    error = e;
  } finally {
    await client.close();
  }
  assert.equal(result, undefined, `${name} succeeded: ${JSON.stringify(result)}`);
  const refused = log.find((r) => r.url === run.mcpUrl && r.status === 403);
  assert.ok(refused, `the MCP server answered 403 (responses: ${JSON.stringify(log)})`);
  assert.match(refused.wwwAuthenticate ?? '', /error="?insufficient_scope"?/);
  assert.ok((refused.wwwAuthenticate ?? '').includes(wanted), `WWW-Authenticate names ${wanted}: ${refused.wwwAuthenticate}`);
  if (error instanceof StreamableHTTPError) {
    assert.equal(error.code, 403, String(error));
  } else {
    assert.ok(error instanceof UnauthorizedError, `a 403 or a step-up redirect, not: ${error?.stack ?? error}`);
    assert.equal(provider.authorizationUrls.length, before + 1, 'the SDK asked to send the user to Tollgate again');
    const stepUp = provider.authorizationUrls.at(-1);
    assert.ok(stepUp.searchParams.get('scope')?.split(' ').includes(wanted), `step-up asks for ${wanted}: ${stepUp}`);
  }
  const scope = provider.tokens()?.scope?.split(' ') ?? [];
  assert.ok(!scope.includes(wanted), `no token with ${wanted} was issued`);
  // Had a failed refresh made the SDK drop the tokens, the next test starts from the approved ones
  // (the CIMD client's test checks refreshing on its own).
  if (!provider.tokens()) provider.saveTokens(kept);
  return { error, log };
}

describe('discovery', () => {
  test('the MCP server refuses a request without a token and points at its metadata', async () => {
    const response = await fetch(run.mcpUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    assert.equal(response.status, 401);
    assert.match(response.headers.get('www-authenticate') ?? '', /^Bearer .*resource_metadata="[^"]+"/i);
  });

  test('the protected resource metadata (RFC 9728) names Tollgate and the scopes', async () => {
    const url = new URL('/.well-known/oauth-protected-resource/mcp', run.mcpUrl);
    const response = await fetch(url);
    assert.equal(response.status, 200);
    const prm = await response.json();
    assert.equal(prm.resource, run.mcpUrl);
    assert.deepEqual(prm.authorization_servers, [run.issuer]);
    for (const scope of [READ, WRITE, INVOICE]) assert.ok(prm.scopes_supported?.includes(scope), scope);
  });

  test('Tollgate\'s metadata (RFC 8414) advertises what MCP clients need', async () => {
    const response = await fetch(`${run.issuer}/.well-known/oauth-authorization-server`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /application\/json/);
    const metadata = await response.json();
    assert.equal(metadata.issuer, run.issuer);
    assert.equal(metadata.authorization_endpoint, `${run.issuer}/authorize`);
    assert.equal(metadata.token_endpoint, `${run.issuer}/token`);
    assert.equal(metadata.registration_endpoint, `${run.issuer}/register`);
    assert.ok(metadata.response_types_supported?.includes('code'));
    assert.deepEqual(metadata.code_challenge_methods_supported, ['S256']);
    assert.equal(metadata.authorization_response_iss_parameter_supported, true);
    assert.equal(metadata.client_id_metadata_document_supported, true);
    assert.ok(metadata.grant_types_supported?.includes('authorization_code'));
    const methods = metadata.token_endpoint_auth_methods_supported;
    assert.ok(!methods || methods.includes('none'), `public clients (none) among ${methods}`);
  });
});

describe('a client that registers dynamically (RFC 7591)', () => {
  const provider = new MemoryProvider();
  let connection;

  test('registers, the user approves one scope, and its tool works', async () => {
    connection = await connectWithLogin(provider, { approve: [READ] });
    const { client, result, tokens, authorizationUrl } = connection;
    try {
      // Registration: a public client with the redirect URI it asked for.
      assert.ok(provider.client?.client_id, 'the SDK registered and saved a client id');
      assert.equal(provider.client.client_secret, undefined, 'a public client gets no secret');
      assert.deepEqual(provider.client.redirect_uris, [redirectUrl]);
      // The request asked for the calendar; the consent page offers what policy allows.
      assert.ok(authorizationUrl.searchParams.get('scope')?.split(' ').includes(READ));
      assert.ok(result.offered?.includes(READ), `consent offers ${READ}: ${result.offered}`);
      for (const scope of result.offered) {
        assert.ok([READ, WRITE].includes(scope), `consent offers only what policy allows, not ${scope}`);
      }
      // The token: what the user approved, for the MCP server, for ada.
      if (tokens.scope !== undefined) assert.equal(tokens.scope, READ);
      const c = claims(tokens.access_token);
      assert.equal(c.iss, run.issuer);
      assert.ok([c.aud].flat().includes(run.mcpUrl), `aud ${JSON.stringify(c.aud)} is the MCP server`);
      assert.equal(c.sub, ADA.sub);
      assert.equal(c.scope, READ);
      assert.equal(c.client_id, provider.client.client_id);

      const tools = await client.listTools();
      assert.ok(tools.tools.some((t) => t.name === 'list_events'), JSON.stringify(tools));
      const events = await callTool(client, 'list_events');
      assert.notEqual(events.isError, true, JSON.stringify(events));
    } finally {
      await client.close();
    }
  });

  test('the registration can be read back (RFC 7592)', async () => {
    const registered = registrations.get(provider.client?.client_id);
    assert.ok(registered, 'the registration test ran');
    const { registration_client_uri: uri, registration_access_token: token } = registered;
    assert.ok(uri && token, `RFC 7592 fields in the registration response: ${JSON.stringify(registered)}`);
    assert.equal(uri, `${run.issuer}/register/${encodeURIComponent(provider.client.client_id)}`);
    const response = await fetch(uri, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(response.status, 200);
    const body = await response.json();
    assert.equal(body.client_id, provider.client.client_id);
    assert.deepEqual(body.redirect_uris, [redirectUrl]);
    const anonymous = await fetch(uri);
    assert.equal(anonymous.status, 401);
  });

  test('create_invoice (no policy grants it) is refused with 403 insufficient_scope', async () => {
    assert.ok(connection, 'the registration test ran');
    await expectInsufficientScope(provider, 'create_invoice', INVOICE);
  });

  test('create_event (allowed by policy, not approved by the user) is refused too', async () => {
    assert.ok(connection, 'the registration test ran');
    await expectInsufficientScope(provider, 'create_event', WRITE);
  });

  test('asking for a scope no policy grants never yields it', async () => {
    assert.ok(connection, 'the registration test ran');
    // A fresh authorization for mcp:invoice.create alone (what a step-up asks for).
    provider.invalidateCredentials('tokens');
    const started = provider.authorizationUrls.length;
    assert.equal(await auth(provider, { serverUrl: run.mcpUrl, scope: INVOICE }), 'REDIRECT');
    assert.equal(provider.authorizationUrls.length, started + 1);
    const url = provider.authorizationUrls.at(-1);
    assert.equal(url.searchParams.get('scope'), INVOICE);
    let result;
    try {
      result = await browserLogin(url.href, { browser: chromium.browser });
    } catch (e) {
      // An error page instead of a redirect would also refuse, but OAuth says to redirect.
      assert.fail(`no redirect back to the client: ${e.message}`);
    }
    checkAuthorizationResponse(result, provider);
    if (result.error) {
      assert.ok(['invalid_scope', 'access_denied'].includes(result.error), `${result.error}: ${result.errorDescription}`);
      assert.equal(result.code, undefined);
      return;
    }
    // Or consent never offered it, and the token does not carry it.
    assert.ok(!(result.offered ?? []).includes(INVOICE), `consent offered ${INVOICE}`);
    assert.equal(await auth(provider, { serverUrl: run.mcpUrl, authorizationCode: result.code }), 'AUTHORIZED');
    assert.ok(!claims(provider.tokens().access_token).scope?.split(' ').includes(INVOICE));
  });
});

describe('a client identified by a metadata document (CIMD) over http on loopback', () => {
  // The SDK's own CIMD path (`clientMetadataUrl`) accepts https URLs only (it throws
  // InvalidClientMetadataError for http); handing the URL over as the client's information is what
  // that path does next (`{ client_id: clientMetadataUrl }`), so Tollgate sees the same requests.
  const provider = new MemoryProvider({ clientName: 'unused: the document names the client' });

  test('Tollgate fetches the document, the user approves both scopes, both calendar tools work', async () => {
    provider.client = { client_id: cimdUrl };
    const { client, result, tokens } = await connectWithLogin(provider, { approve: [READ, WRITE] });
    try {
      assert.ok(cimdFetches.some((f) => f.method === 'GET' && f.url === '/clients/tollgate-e2e.json'),
        'Tollgate fetched the client ID metadata document');
      assert.equal(provider.client.client_id, cimdUrl, 'no dynamic registration happened');
      assert.deepEqual([...(result.offered ?? [])].sort(), [READ, WRITE]);
      const c = claims(tokens.access_token);
      assert.deepEqual(c.scope.split(' ').sort(), [READ, WRITE]);
      assert.equal(c.client_id, cimdUrl);

      const events = await callTool(client, 'list_events');
      assert.notEqual(events.isError, true, JSON.stringify(events));
      const created = await callTool(client, 'create_event');
      assert.notEqual(created.isError, true, JSON.stringify(created));
    } finally {
      await client.close();
    }
  });

  test('its refresh token (when issued) refreshes through the SDK, same scopes', async (t) => {
    const before = provider.tokens();
    assert.ok(before?.access_token, 'the CIMD test ran');
    if (!before.refresh_token) {
      t.skip('no refresh token was issued');
      return;
    }
    assert.equal(await auth(provider, { serverUrl: run.mcpUrl }), 'AUTHORIZED', 'refreshed without the user');
    const after = provider.tokens();
    assert.notEqual(after.access_token, before.access_token);
    assert.deepEqual(claims(after.access_token).scope.split(' ').sort(), [READ, WRITE]);
    const client = newClient();
    await client.connect(transportFor(provider));
    try {
      const events = await callTool(client, 'list_events');
      assert.notEqual(events.isError, true, JSON.stringify(events));
    } finally {
      await client.close();
    }
  });
});

test('refusing consent answers access_denied with state and iss, and no code', async () => {
  const provider = new MemoryProvider({ clientName: 'Tollgate e2e client (refused)' });
  await assert.rejects(newClient().connect(transportFor(provider)), UnauthorizedError);
  const url = provider.authorizationUrls[0];
  assert.ok(url, 'the SDK asked to send the user to Tollgate');
  checkAuthorizationRequest(url, provider);
  const result = await browserLogin(url.href, { browser: chromium.browser, deny: true });
  assert.equal(result.error, 'access_denied', result.url);
  assert.equal(result.code, undefined);
  checkAuthorizationResponse(result, provider);
  assert.equal(provider.tokens(), undefined);
});
