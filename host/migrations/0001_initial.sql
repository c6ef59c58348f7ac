-- Entities managed by the configuration file or the admin API, as JSON documents.
CREATE TABLE entities (
    kind        TEXT NOT NULL,          -- client | user | resource | connection | policy
    id          TEXT NOT NULL,
    body        TEXT NOT NULL,          -- JSON, never a plaintext secret
    source      TEXT NOT NULL,          -- config | admin
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (kind, id)
);

-- Secrets (client secrets, user passwords) as argon2id PHC strings.
CREATE TABLE secrets (
    kind        TEXT NOT NULL,
    id          TEXT NOT NULL,
    hash        TEXT NOT NULL,
    PRIMARY KEY (kind, id)
);

CREATE TABLE signing_keys (
    kid         TEXT PRIMARY KEY,
    alg         TEXT NOT NULL,
    private_pem TEXT NOT NULL,
    public_jwk  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    retired_at  INTEGER                 -- NULL while active
);

-- Issued tokens by jti (access) or by SHA-256 of the token (refresh); never the token itself.
CREATE TABLE tokens (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,          -- access | refresh
    client_id   TEXT NOT NULL,
    sub         TEXT,
    family      TEXT NOT NULL,          -- refresh rotation family
    grant_type  TEXT NOT NULL,          -- the grant that started the session
    target      TEXT NOT NULL,          -- JSON engine target
    scope       TEXT NOT NULL,
    data        TEXT NOT NULL,          -- JSON: claims to carry, actor
    issued_at   INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used        INTEGER NOT NULL DEFAULT 0,
    revoked     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX tokens_family ON tokens (family);

-- private_key_jwt and JWT bearer assertion ids, to refuse replays until they expire.
CREATE TABLE assertion_ids (
    issuer      TEXT NOT NULL,
    jti         TEXT NOT NULL,
    expires_at  INTEGER NOT NULL,
    PRIMARY KEY (issuer, jti)
);

CREATE TABLE audit (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    at          INTEGER NOT NULL,
    event       TEXT NOT NULL,
    body        TEXT NOT NULL
);

CREATE TABLE meta (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL
);
