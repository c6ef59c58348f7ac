// Development keys and tokens for the edge-worker example (never for production).
//   node examples/edge-worker/token.mjs init                 writes keys/ (a P-256 key pair)
//   node examples/edge-worker/token.mjs sign '{"sub":"u-1","client_id":"web","roles":["SRE"],"org":{"dept":"ops"},"scope":"incidents:read"}'
// prints an ES256 JWT from https://tollgate.example.com for https://incidents.example.com, valid 10 minutes.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ISSUER = 'https://tollgate.example.com';
export const AUDIENCE = 'https://incidents.example.com';

/** Creates a P-256 key pair in `dir/keys`. */
export async function init(dir) {
  const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  mkdirSync(join(dir, 'keys'), { recursive: true });
  writeFileSync(join(dir, 'keys', 'public-jwk.json'), JSON.stringify(await crypto.subtle.exportKey('jwk', pair.publicKey)));
  writeFileSync(join(dir, 'keys', 'private-jwk.json'), JSON.stringify(await crypto.subtle.exportKey('jwk', pair.privateKey)), { mode: 0o600 });
}

/** An ES256 JWT with `claims` plus iss, aud, iat, exp (unless given), signed with `dir/keys`. */
export async function sign(dir, claims) {
  const jwk = JSON.parse(readFileSync(join(dir, 'keys', 'private-jwk.json'), 'utf8'));
  const key = await crypto.subtle.importKey('jwk', jwk, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
  const now = Math.floor(Date.now() / 1000);
  const enc = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const input = `${enc({ alg: 'ES256', typ: 'at+jwt' })}.${enc({ iss: ISSUER, aud: AUDIENCE, iat: now, exp: now + 600, ...claims })}`;
  const signature = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, key, new TextEncoder().encode(input));
  return `${input}.${Buffer.from(signature).toString('base64url')}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const here = dirname(fileURLToPath(import.meta.url));
  const [command, claims] = process.argv.slice(2);
  if (command === 'init') {
    await init(here);
    console.log(`wrote ${join(here, 'keys')}`);
  } else if (command === 'sign') {
    console.log(await sign(here, JSON.parse(claims ?? '{}')));
  } else {
    console.error('usage: token.mjs init | token.mjs sign CLAIMS_JSON');
    process.exit(2);
  }
}
