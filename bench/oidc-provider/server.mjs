// The peer of bench/token-endpoint.sh: panva's oidc-provider 9.13 configured like the Tollgate
// benchmark target: one confidential client (client_secret_basic), the client_credentials grant,
// a resource server (RFC 8707) whose access tokens are ES256-signed JWTs, the in-memory adapter.
// Usage (Node 22): node server.mjs PORT   -- prints "oidc-provider: listening on URL" when ready.
import { createServer } from 'node:http';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';

const port = Number(process.argv[2]);
if (!port) {
  console.error('usage: node server.mjs PORT');
  process.exit(2);
}
const issuer = `http://127.0.0.1:${port}`;
const AUDIENCE = 'https://orders.bench.example';
const SCOPES = 'orders:read orders:write';

const { privateKey } = await generateKeyPair('ES256', { extractable: true });
const signingKey = { ...(await exportJWK(privateKey)), kid: 'bench-es256', alg: 'ES256', use: 'sig' };

const provider = new Provider(issuer, {
  scopes: SCOPES.split(' '),
  clients: [
    {
      client_id: 'bench-worker',
      client_secret: 'bench-worker-secret',
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope: SCOPES,
      // The only signing key is ES256 (the default would be RS256).
      id_token_signed_response_alg: 'ES256',
    },
  ],
  jwks: { keys: [signingKey] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => AUDIENCE,
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resource) => {
        if (resource !== AUDIENCE) throw new Provider.errors.InvalidTarget();
        return {
          scope: SCOPES,
          audience: AUDIENCE,
          accessTokenTTL: 600,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'ES256' } },
        };
      },
    },
  },
});
provider.on('server_error', (ctx, err) => console.error('oidc-provider: server_error', err));

createServer(provider.callback()).listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider: listening on ${issuer}`);
});
