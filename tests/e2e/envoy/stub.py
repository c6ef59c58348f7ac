"""A stand-in for the Tollgate server in the Envoy end-to-end test and benchmark.

Until the Tollgate server exists this plays its part on 127.0.0.1: it mints signed JWT access
tokens with keys generated per run (ES256, RS256, EdDSA), serves their JWKS and a policy bundle,
and echoes the request headers an upstream receives. It will be replaced by the server's own
jwks_uri and bundle endpoint.

    stub.py mint  DIR ISSUER AUDIENCE   write DIR/jwks.json, DIR/tokens.json and
                                        DIR/signatures.json, then exit
    stub.py serve DIR PORT_FILE         serve DIR on a free port, written to PORT_FILE

`serve` answers:
    GET /jwks.json    DIR/jwks.json
    GET /bundle.json  DIR/bundle.json, read per request (swap the file to change policy), with an
                      ETag; If-None-Match gives 304
    anything else     200 with the request headers as JSON (the upstream behind Envoy)
While DIR/fail exists, /jwks.json and /bundle.json answer 503 (to check that Envoy keeps the last
good ones).

Only the Python standard library and `cryptography` (pinned by the caller).
"""

import base64
import hashlib
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def int_bytes(n: int, length: int = 0) -> bytes:
    return n.to_bytes(length or (n.bit_length() + 7) // 8, "big")


class Key:
    def __init__(self, alg: str, kid: str):
        self.alg, self.kid = alg, kid
        if alg == "ES256":
            self.private = ec.generate_private_key(ec.SECP256R1())
        elif alg == "RS256":
            self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        else:
            self.private = ed25519.Ed25519PrivateKey.generate()

    def jwk(self) -> dict:
        public = self.private.public_key()
        if self.alg == "ES256":
            numbers = public.public_numbers()
            return {"kty": "EC", "crv": "P-256", "kid": self.kid, "alg": "ES256", "use": "sig",
                    "x": b64(int_bytes(numbers.x, 32)), "y": b64(int_bytes(numbers.y, 32))}
        if self.alg == "RS256":
            numbers = public.public_numbers()
            return {"kty": "RSA", "kid": self.kid, "alg": "RS256", "use": "sig",
                    "n": b64(int_bytes(numbers.n)), "e": b64(int_bytes(numbers.e))}
        raw = public.public_bytes(Encoding.Raw, PublicFormat.Raw)
        return {"kty": "OKP", "crv": "Ed25519", "kid": self.kid, "alg": "EdDSA", "use": "sig",
                "x": b64(raw)}

    def sign(self, claims: dict) -> str:
        header = {"alg": self.alg, "kid": self.kid, "typ": "at+jwt"}
        signing_input = (b64(json.dumps(header, separators=(",", ":")).encode()) + "." +
                         b64(json.dumps(claims, separators=(",", ":")).encode())).encode()
        if self.alg == "ES256":
            r, s = decode_dss_signature(self.private.sign(signing_input, ec.ECDSA(hashes.SHA256())))
            signature = int_bytes(r, 32) + int_bytes(s, 32)
        elif self.alg == "RS256":
            signature = self.private.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
        else:
            signature = self.private.sign(signing_input)
        return signing_input.decode() + "." + b64(signature)


def mint(directory: str, issuer: str, audience: str) -> None:
    keys = {alg: Key(alg, kid) for alg, kid in
            [("ES256", "es-1"), ("RS256", "rsa-1"), ("EdDSA", "ed-1")]}
    now = int(time.time())

    def claims(**changes):
        base = {"iss": issuer, "aud": audience, "sub": "u-42", "client_id": "agent",
                "scope": "items:read items:write", "iat": now, "exp": now + 3600,
                "roles": ["SRE"]}
        base.update(changes)
        return {k: v for k, v in base.items() if v is not None}

    es, rs, ed = keys["ES256"], keys["RS256"], keys["EdDSA"]
    stranger = Key("ES256", "es-1")  # same kid, another key: a forged signature
    tokens = {
        "good_es256": es.sign(claims()),
        "good_rs256": rs.sign(claims()),
        "good_eddsa": ed.sign(claims()),
        "expired": es.sign(claims(iat=now - 7200, exp=now - 3600)),
        "wrong_aud": es.sign(claims(aud="https://elsewhere.example.com")),
        "wrong_iss": es.sign(claims(iss="https://evil.example.com")),
        "bad_signature": stranger.sign(claims()),
        "read_only": es.sign(claims(scope="items:read")),
        "no_policy": es.sign(claims(client_id="stranger")),
        "contractor": ed.sign(claims(sub="u-7", client_id="contractor", scope="items:read",
                                     roles=None)),
        "machine": rs.sign(claims(sub="worker", client_id="worker", scope="items:read",
                                  roles=None)),
        # How the user signed in (amr, auth_time): writes need a second factor in 5 minutes.
        "editor_fresh": es.sign(claims(sub="u-9", client_id="editor", roles=None,
                                       amr=["pwd", "otp"], auth_time=now - 10)),
        "editor_stale": es.sign(claims(sub="u-9", client_id="editor", roles=None,
                                       amr=["pwd", "otp"], auth_time=now - 600)),
        "editor_password": es.sign(claims(sub="u-9", client_id="editor", roles=None,
                                          amr=["pwd"], auth_time=now - 10)),
    }
    with open(os.path.join(directory, "jwks.json"), "w") as f:
        json.dump({"keys": [k.jwk() for k in keys.values()]}, f)
    with open(os.path.join(directory, "tokens.json"), "w") as f:
        json.dump(tokens, f)
    with open(os.path.join(directory, "signatures.json"), "w") as f:
        json.dump(edge_signatures(keys, claims), f, indent=1)


P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
ED25519_ORDER = 2**252 + 27742317777372353535851937790883648493


def edge_signatures(keys: dict, claims) -> list:
    """[name, token, expected status, whether the filter hands it to Envoy's library] for valid
    and malformed signatures of every algorithm: one token per algorithm (a `jti` of its own, so
    that no cache has seen it) with its signature replaced. Only a genuine signature, and ECDSA's
    other valid form (r, n - s), may pass. The filter checks a signature's form itself and hands
    only well-formed RS256 and ES256 signatures to the proxy."""
    cases = []
    for alg, key in keys.items():
        token = key.sign(claims(jti=f"edge-{alg}"))
        body, sig = token.rsplit(".", 1)
        sig = base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4))
        # Another key under the same kid: a well-formed signature that is not this key's.
        forged = Key(alg, key.kid).sign(claims(jti=f"edge-{alg}")).rsplit(".", 1)[1]
        variants = [("genuine", sig, 200),
                    ("by another key", base64.urlsafe_b64decode(forged + "=" * (-len(forged) % 4)), 401),
                    ("empty", b"", 401),
                    ("zero", bytes(len(sig)), 401),
                    ("one byte short", sig[:-1], 401),
                    ("one byte long", sig + b"\0", 401),
                    ("a bit flipped", sig[:-1] + bytes([sig[-1] ^ 1]), 401)]
        if alg == "ES256":
            r, s = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")
            n32 = P256_ORDER.to_bytes(32, "big")
            variants += [("the other valid form, (r, n - s)", sig[:32] + (P256_ORDER - s).to_bytes(32, "big"), 200),
                         ("r = 0", bytes(32) + sig[32:], 401),
                         ("s = 0", sig[:32] + bytes(32), 401),
                         ("r = n", n32 + sig[32:], 401),
                         ("s = n", sig[:32] + n32, 401),
                         ("s = (n + s) mod 2^256", sig[:32] + ((P256_ORDER + s) % 2**256).to_bytes(32, "big"), 401),
                         ("r = 2^256 - 1", b"\xff" * 32 + sig[32:], 401),
                         ("r and s swapped", sig[32:] + sig[:32], 401),
                         ("DER instead of r || s", der_ecdsa(r, s), 401)]
        elif alg == "RS256":
            n = key.private.public_key().public_numbers().n
            variants += [("the modulus", n.to_bytes(256, "big"), 401),
                         ("(n + signature) mod 2^2048", ((n + int.from_bytes(sig, "big")) % 2**2048).to_bytes(256, "big"), 401),
                         ("all ones", b"\xff" * 256, 401),
                         ("a leading zero", b"\0" + sig, 401)]
        else:
            s = int.from_bytes(sig[32:], "little")
            variants += [("S + L", sig[:32] + (s + ED25519_ORDER).to_bytes(32, "little"), 401)]
        for what, signature, status in variants:
            cases.append([f"{alg} {what}", body + "." + b64(signature), status,
                          well_formed(alg, key, signature)])
    return cases


def well_formed(alg: str, key: "Key", signature: bytes) -> bool:
    if alg == "ES256":
        r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        return len(signature) == 64 and 0 < r < P256_ORDER and 0 < s < P256_ORDER
    if alg == "RS256":
        return len(signature) == key.private.key_size // 8
    return False


def der_ecdsa(r: int, s: int) -> bytes:
    def integer(v: int) -> bytes:
        b = v.to_bytes((v.bit_length() + 8) // 8, "big")
        return b"\x02" + bytes([len(b)]) + b
    inner = integer(r) + integer(s)
    return b"\x30" + bytes([len(inner)]) + inner


def serve(directory: str, port_file: str) -> None:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def reply(self, status: int, body: bytes = b"", headers=()):
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            path = self.path.split("?")[0]
            if path in ("/jwks.json", "/bundle.json"):
                if os.path.exists(os.path.join(directory, "fail")):
                    return self.reply(503, b"unavailable")
                with open(os.path.join(directory, path.lstrip("/")), "rb") as f:
                    body = f.read()
                etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                if self.headers.get("if-none-match") == etag:
                    return self.reply(304, headers=[("etag", etag)])
                return self.reply(200, body, [("content-type", "application/json"), ("etag", etag)])
            body = json.dumps({k.lower(): v for k, v in self.headers.items()}).encode()
            self.reply(200, body, [("content-type", "application/json")])

        do_POST = do_GET

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(port_file + ".tmp", port_file)
    server.serve_forever()


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    if command == "mint":
        mint(*args)
    elif command == "serve":
        serve(*args)
    else:
        sys.exit(f"unknown command {command}")
