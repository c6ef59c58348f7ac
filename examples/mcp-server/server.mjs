// An MCP server (calendar and invoice tools) that accepts only access tokens issued by Tollgate for it:
// RFC 9068 JWTs checked against the issuer's JWKS, one scope per tool. Configuration: see README.md.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { metadataHandler } from '@modelcontextprotocol/sdk/server/auth/handlers/metadata.js';
import { getOAuthProtectedResourceMetadataUrl } from '@modelcontextprotocol/sdk/server/auth/router.js';
import { createMcpExpressApp } from '@modelcontextprotocol/sdk/server/express.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { createRemoteJWKSet, errors, jwtVerify } from 'jose';
import { z } from 'zod';

const TOOL_SCOPES = new Map([
  ['list_events', 'mcp:calendar.read'],
  ['create_event', 'mcp:calendar.write'],
  ['create_invoice', 'mcp:invoice.create'],
]);
const SCOPES_SUPPORTED = [...new Set(TOOL_SCOPES.values())];

// Shared by every request (the transport is stateless), so events created by one call show up in the next.
const events = [
  { id: 'evt-1', title: 'Team stand-up', start: '2030-01-07T09:00:00Z' },
  { id: 'evt-2', title: 'Quarterly planning', start: '2030-01-08T13:00:00Z' },
  { id: 'evt-3', title: 'Customer call: ACME', start: '2030-01-09T16:30:00Z' },
];

const json = (value) => ({ content: [{ type: 'text', text: JSON.stringify(value, null, 2) }] });

// The HTTP layer already refused calls without the scope; this keeps each tool safe should it be reached
// another way (a new transport, a batch the HTTP check did not foresee). `extra` is always the last argument.
const guarded = (name, handler) => (...args) => {
  const scope = TOOL_SCOPES.get(name);
  if (args.at(-1).authInfo?.scopes.includes(scope)) return handler(...args);
  return { isError: true, content: [{ type: 'text', text: `${name} needs the scope ${scope}` }] };
};

function mcpServer() {
  const server = new McpServer({ name: 'tollgate-example-calendar', version: '1.0.0' });
  server.registerTool('list_events', {
    description: 'List the calendar events.',
    annotations: { readOnlyHint: true },
  }, guarded('list_events', () => json(events)));
  server.registerTool('create_event', {
    description: 'Add an event to the calendar.',
    inputSchema: { title: z.string().min(1), start: z.iso.datetime({ offset: true }).describe('ISO 8601 start time') },
  }, guarded('create_event', ({ title, start }) => {
    const event = { id: `evt-${events.length + 1}`, title, start };
    events.push(event);
    return json(event);
  }));
  server.registerTool('create_invoice', {
    description: 'Create an invoice for a customer.',
    inputSchema: { customer: z.string().min(1), amountCents: z.number().int().positive() },
  }, guarded('create_invoice', ({ customer, amountCents }) => json({ id: `inv-${randomUUID()}`, customer, amountCents, status: 'draft' })));
  return server;
}

// jose signals an unreachable or broken JWKS with plain JOSEErrors (or fetch's TypeError); those are
// our problem, not the token's, and answering 401 would send the client to re-authorize for nothing.
const jwksUnavailable = (err) => !(err instanceof errors.JOSEError)
  || ['ERR_JOSE_GENERIC', 'ERR_JWKS_TIMEOUT', 'ERR_JWKS_INVALID'].includes(err.code);

// RFC 6750 allows neither `"` nor `\` in a challenge's quoted values; jose's messages quote claim names.
const quoted = (value) => `"${String(value).replace(/["\\]/g, "'")}"`;

const jsonRpcError = (code, message) => ({ jsonrpc: '2.0', id: null, error: { code, message } });

function app({ host, resource, issuer, recentSignIn = new Map() }) {
  const metadataUrl = getOAuthProtectedResourceMetadataUrl(new URL(resource));
  const jwks = createRemoteJWKSet(new URL(`${issuer}/jwks`));

  const challenge = (res, status, fields, body) => {
    const params = Object.entries({ ...fields, resource_metadata: metadataUrl }).map(([k, v]) => `${k}=${quoted(v)}`);
    res.set('WWW-Authenticate', `Bearer ${params.join(', ')}`).status(status).json(body);
  };

  async function authenticate(req, res, next) {
    const token = /^Bearer +(\S+)$/i.exec(req.get('authorization') ?? '')?.[1];
    // RFC 6750 §3.1: no error code when the client did not try to authenticate.
    if (!token) return challenge(res, 401, {}, { error: 'unauthorized', error_description: 'a bearer access token is required' });
    let payload;
    try {
      ({ payload } = await jwtVerify(token, jwks, {
        issuer,
        audience: resource,
        algorithms: ['ES256', 'RS256', 'EdDSA'],
        typ: 'at+jwt',
        requiredClaims: ['exp'],
      }));
    } catch (err) {
      if (jwksUnavailable(err)) {
        console.error(`mcp-server: cannot get the signing keys from ${issuer}/jwks:`, err.message);
        return res.status(503).json({ error: 'server_error', error_description: "the authorization server's keys are unavailable" });
      }
      const description = `the access token is invalid: ${err.message}`;
      return challenge(res, 401, { error: 'invalid_token', error_description: description }, { error: 'invalid_token', error_description: description });
    }
    // The AuthInfo shape the SDK hands to tool handlers as `extra.authInfo`.
    req.auth = {
      token,
      clientId: payload.client_id,
      scopes: typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : [],
      expiresAt: payload.exp,
      resource: new URL(resource),
      extra: { sub: payload.sub, authTime: payload.auth_time },
    };
    next();
  }

  // The tool is known only once the JSON-RPC body is parsed, so this checks tools/call here, before
  // the transport, to answer with the HTTP 403 scope challenge that lets a client step up its token.
  function requireToolScopes(req, res, next) {
    if (req.method !== 'POST') return next();
    // Without a parsed body the transport would read and parse the raw one itself, past this check.
    if (req.body === undefined) {
      return res.status(415).json(jsonRpcError(-32000, 'Unsupported Media Type: the body must be JSON (Content-Type: application/json)'));
    }
    const missing = new Set();
    for (const message of [req.body].flat()) {
      if (message?.method !== 'tools/call') continue;
      const scope = TOOL_SCOPES.get(message.params?.name);
      if (scope && !req.auth.scopes.includes(scope)) missing.add(scope);
    }
    if (missing.size === 0) return requireRecentSignIn(req, res, next);
    const description = `this call needs the scope ${[...missing].join(' ')}`;
    // The scopes already granted go in too (the spec's recommended approach): the SDK client asks for
    // exactly the challenge's scopes when it steps up, and would otherwise lose the ones it has.
    const granted = req.auth.scopes.filter((s) => SCOPES_SUPPORTED.includes(s));
    const scope = [...granted, ...missing].join(' ');
    challenge(res, 403, { error: 'insufficient_scope', scope, error_description: description }, { error: 'insufficient_scope', error_description: description });
  }

  // Tools that need the user to have signed in recently (MCP_RECENT_SIGN_IN): a token whose
  // `auth_time` is older, or absent, gets RFC 9470's 401 insufficient_user_authentication with
  // `max_age`, so the client sends the user to sign in again.
  function requireRecentSignIn(req, res, next) {
    let maxAge;
    for (const message of [req.body].flat()) {
      if (message?.method !== 'tools/call') continue;
      const limit = recentSignIn.get(message.params?.name);
      if (limit !== undefined) maxAge = Math.min(maxAge ?? limit, limit);
    }
    if (maxAge === undefined) return next();
    const authTime = req.auth.extra.authTime;
    const age = Math.floor(Date.now() / 1000) - authTime;
    if (Number.isInteger(authTime) && age <= maxAge && age >= -60) return next();
    const description = `this call needs a sign-in in the last ${maxAge} seconds`;
    challenge(res, 401, { error: 'insufficient_user_authentication', error_description: description, max_age: maxAge },
      { error: 'insufficient_user_authentication', error_description: description });
  }

  const prm = {
    resource,
    authorization_servers: [issuer],
    scopes_supported: SCOPES_SUPPORTED,
    bearer_methods_supported: ['header'],
    resource_name: 'Tollgate example calendar MCP server',
  };

  const web = createMcpExpressApp({ host });
  web.use(['/.well-known/oauth-protected-resource/mcp', '/.well-known/oauth-protected-resource'], metadataHandler(prm));
  web.all('/mcp', authenticate, requireToolScopes, async (req, res) => {
    // Stateless: no session, so no GET stream to resume and no DELETE to end one.
    if (req.method !== 'POST') {
      return res.set('Allow', 'POST').status(405).json(jsonRpcError(-32000, 'Method not allowed: this stateless server takes POST only'));
    }
    const server = mcpServer();
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => server.close());
    await server.connect(transport);
    await transport.handleRequest(req, res, req.body);
  });
  // Express would answer a malformed or oversized body with an HTML page and a stack trace.
  web.use((err, req, res, next) => {
    if (res.headersSent) return next(err);
    if (!err.expose) console.error('mcp-server:', err);
    const code = err.type === 'entity.parse.failed' ? -32700 : -32603;
    res.status(err.status ?? 500).json(jsonRpcError(code, err.expose ? err.message : 'Internal error'));
  });
  return web;
}

function fail(message) {
  console.error(`mcp-server: ${message}`);
  process.exit(1);
}

const host = process.env.MCP_HOST ?? '127.0.0.1';
const port = Number(process.env.MCP_PORT ?? 3001);
const issuer = process.env.TOLLGATE_ISSUER ?? 'http://127.0.0.1:8080';
// `tool:seconds,tool:seconds`: tools that need a sign-in at most that many seconds old.
const recentSignIn = new Map();
for (const entry of (process.env.MCP_RECENT_SIGN_IN ?? '').split(',').filter(Boolean)) {
  const [tool, seconds] = entry.split(':');
  if (!TOOL_SCOPES.has(tool) || !/^\d+$/.test(seconds ?? '')) {
    fail(`MCP_RECENT_SIGN_IN must be tool:seconds pairs of ${[...TOOL_SCOPES.keys()].join(', ')}, not ${JSON.stringify(entry)}`);
  }
  recentSignIn.set(tool, Number(seconds));
}
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  fail(`MCP_PORT must be a port number (0 for any free port), not ${JSON.stringify(process.env.MCP_PORT)}`);
}
for (const name of ['MCP_URL', 'TOLLGATE_ISSUER']) {
  const value = process.env[name];
  if (value !== undefined && !URL.canParse(value)) fail(`${name} must be an absolute URL, not ${JSON.stringify(value)}`);
}

const http = createServer();
http.once('error', (err) => fail(`cannot listen on ${host}:${port}: ${err.message}`));
// The default resource URL names the port actually bound, so the app is built once listening (MCP_PORT=0).
http.listen(port, host, () => {
  const resource = process.env.MCP_URL ?? `http://127.0.0.1:${http.address().port}/mcp`;
  http.on('request', app({ host, resource, issuer, recentSignIn }));
  console.log(`mcp-server: listening on ${resource}`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, () => {
    http.close();
    http.closeIdleConnections();
  });
}
