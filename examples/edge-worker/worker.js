// An edge worker (workerd / Cloudflare Workers) in front of the incidents API: it verifies the
// bearer token (ES256 JWT), then asks the Tollgate engine, per request, whether the token's
// client and user may use the scope the route needs under today's policies.
//
//   401  no token, a bad signature, expired, wrong issuer or audience (invalid_token)
//   403  the policies or the token's own `scope` do not give the route's scope (insufficient_scope)
//   200  allowed: the answer says which policies allowed it
//
// Bindings (config.capnp): POLICIES (the policy document, YAML or JSON text), JWT_PUBLIC_KEY (the
// issuer's public JWK, P-256), ISSUER, AUDIENCE.
import { PolicySet } from '@tollgate/engine';

/** Each route and the scope a call to it needs. */
const ROUTES = [
  { method: 'GET', prefix: '/incidents', resource: 'incidents-api', scope: 'incidents:read' },
  { method: 'POST', prefix: '/incidents', resource: 'incidents-api', scope: 'incidents:write' },
  { method: 'POST', prefix: '/runbooks', resource: 'incidents-api', scope: 'runbook:execute' },
];

// Loaded once per isolate, on the first request (bindings arrive with the request).
let policies;
let key;

export default {
  async fetch(request, env) {
    policies ??= PolicySet.load(env.POLICIES);
    key ??= await crypto.subtle.importKey('jwk', env.JWT_PUBLIC_KEY, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);

    const url = new URL(request.url);
    const route = ROUTES.find((r) => r.method === request.method && url.pathname.startsWith(r.prefix));
    if (!route) return new Response('not found\n', { status: 404 });

    const claims = await verifiedClaims(request.headers.get('authorization'), env);
    if (!claims) {
      return new Response('invalid token\n', {
        status: 401,
        headers: { 'www-authenticate': 'Bearer realm="incidents", error="invalid_token"' },
      });
    }

    const clientId = claims.client_id ?? claims.azp;
    const hasUser = typeof claims.sub === 'string' && claims.sub !== clientId;
    const decision = policies.decide({
      grantType: hasUser ? 'authorization_code' : 'client_credentials',
      client: { clientId },
      user: hasUser ? { sub: claims.sub, roles: claims.roles ?? [] } : null,
      claims,
      target: { resource: route.resource },
      requestedScopes: [route.scope],
      context: { time: new Date().toISOString() },
      explain: false,
    });
    const tokenScopes = typeof claims.scope === 'string' ? claims.scope.split(' ') : [];
    if (!decision.granted.includes(route.scope) || !tokenScopes.includes(route.scope)) {
      return new Response('insufficient scope\n', {
        status: 403,
        headers: { 'www-authenticate': `Bearer realm="incidents", error="insufficient_scope", scope="${route.scope}"` },
      });
    }
    return Response.json({ ok: true, scope: route.scope, allowedBy: decision.scopes[0]?.by ?? [] });
  },
};

/** The claims of a valid `Bearer` ES256 JWT from the configured issuer for this audience, or null. */
async function verifiedClaims(authorization, env) {
  const match = /^Bearer ([\w-]+)\.([\w-]+)\.([\w-]+)$/.exec(authorization ?? '');
  if (!match) return null;
  const [, head, body, signature] = match;
  try {
    const header = JSON.parse(text(head));
    if (header.alg !== 'ES256') return null;
    const ok = await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, bytes(signature),
      new TextEncoder().encode(`${head}.${body}`));
    if (!ok) return null;
    const claims = JSON.parse(text(body));
    const now = Date.now() / 1000;
    const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (typeof claims.exp !== 'number' || claims.exp <= now) return null;
    if (typeof claims.nbf === 'number' && claims.nbf > now + 60) return null;
    if (claims.iss !== env.ISSUER || !audiences.includes(env.AUDIENCE)) return null;
    return claims;
  } catch {
    return null;
  }
}

function bytes(base64url) {
  const base64 = base64url.replace(/-/g, '+').replace(/_/g, '/');
  return Uint8Array.from(atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4)), (c) => c.charCodeAt(0));
}

function text(base64url) {
  return new TextDecoder().decode(bytes(base64url));
}
