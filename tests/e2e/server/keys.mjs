// Generates the keys the end-to-end suite holds and the server is told about:
//   - the private_key_jwt client's key pair (ES256),
//   - the trusted JWT-bearer issuer's key pair (ES256).
// Usage: node keys.mjs DIR
// Writes DIR/keys.json (the private JWKs, read back by the tests) and prints one line of JSON
// with the public JWK Sets, which tests/e2e/server.sh puts into the server configuration.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node keys.mjs DIR');
  process.exit(2);
}

async function pair(kid) {
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
  const pub = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
  const priv = { ...(await exportJWK(privateKey)), kid, alg: 'ES256' };
  return { pub, priv };
}

const client = await pair('e2e-client-key');
const issuer = await pair('e2e-issuer-key');
writeFileSync(
  join(dir, 'keys.json'),
  JSON.stringify({ client: client.priv, issuer: issuer.priv }),
  { mode: 0o600 },
);
console.log(JSON.stringify({ client: { keys: [client.pub] }, issuer: { keys: [issuer.pub] } }));
