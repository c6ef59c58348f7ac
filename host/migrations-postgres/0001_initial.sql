-- The PostgreSQL schema: the SQLite migrations' tables, in PostgreSQL's types.

-- Entities managed by the configuration file or the admin API, as JSON documents.
CREATE TABLE entities (
    kind        TEXT NOT NULL,          -- client | user | resource | connection | policy
    id          TEXT NOT NULL,
    body        TEXT NOT NULL,          -- JSON, never a plaintext secret
    source      TEXT NOT NULL,          -- config | admin
    updated_at  BIGINT NOT NULL,
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
    private_pem TEXT NOT NULL,          -- sealed with the vault key when one is configured
    public_jwk  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    retired_at  BIGINT                  -- NULL while active
);

-- Issued tokens by jti (access) or by SHA-256 of the token (refresh, code); never the token.
CREATE TABLE tokens (
    id              TEXT PRIMARY KEY,
    kind            TEXT NOT NULL,      -- access | refresh | code
    client_id       TEXT NOT NULL,
    sub             TEXT,
    family          TEXT NOT NULL,      -- refresh rotation family
    grant_type      TEXT NOT NULL,      -- the grant that started the session
    target          TEXT NOT NULL,      -- JSON engine target
    scope           TEXT NOT NULL,
    data            TEXT NOT NULL,      -- JSON: claims to carry, actor
    issued_at       BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    used            BIGINT NOT NULL DEFAULT 0,
    revoked         BIGINT NOT NULL DEFAULT 0,
    revoked_version BIGINT              -- the revocations version at which it was revoked
);
CREATE INDEX tokens_family ON tokens (family);
CREATE INDEX tokens_revoked ON tokens (revoked_version) WHERE revoked_version IS NOT NULL;

-- private_key_jwt and JWT bearer assertion ids, to refuse replays until they expire.
CREATE TABLE assertion_ids (
    issuer      TEXT NOT NULL,
    jti         TEXT NOT NULL,
    expires_at  BIGINT NOT NULL,
    PRIMARY KEY (issuer, jti)
);

CREATE TABLE audit (
    seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          BIGINT NOT NULL,
    event       TEXT NOT NULL,
    body        TEXT NOT NULL
);

CREATE TABLE meta (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL
);

-- Connection credentials, sealed with AES-256-GCM (see src/vault); never stored in clear.
CREATE TABLE credentials (
    connection_id TEXT NOT NULL,
    owner         TEXT NOT NULL,        -- user:<sub> | tenant:<id> | provider
    kind          TEXT NOT NULL,        -- refresh_token | api_key | certificate | client_secret
    key_id        TEXT NOT NULL,        -- the vault key that sealed it
    nonce         BYTEA NOT NULL,
    ciphertext    BYTEA NOT NULL,
    scope         TEXT,                 -- refresh tokens: the scopes the provider granted
    source        TEXT NOT NULL,        -- config | admin | connect
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (connection_id, owner)
);

-- Browser sessions, authorization requests and connect flows under way.
CREATE TABLE flows (
    kind        TEXT NOT NULL,          -- session | request | connect
    id          TEXT NOT NULL,          -- a session: SHA-256 of its cookie; otherwise its id
    owner       TEXT,                   -- whose: a signed-in session's or a connect flow's user, a
                                        -- request's session digest (each owner's flows are bounded)
    body        TEXT NOT NULL,          -- JSON; a connect flow's PKCE verifier sealed
    evictable   BIGINT NOT NULL,        -- 1: may give way when its kind is full (anonymous sessions,
                                        -- requests); the others are bounded per owner only
    expires_at  BIGINT NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE INDEX flows_expiry ON flows (kind, evictable, expires_at);
CREATE INDEX flows_owner ON flows (kind, owner, expires_at);

-- Each change bumps its topic's version in the change's own transaction and announces it on the
-- `tollgate_changes` channel; replicas compare versions when a notice may have been missed.
CREATE TABLE versions (
    topic       TEXT PRIMARY KEY,       -- entities | keys | revocations | credentials
    version     BIGINT NOT NULL
);
INSERT INTO versions (topic, version) VALUES
    ('entities', 1), ('keys', 1), ('revocations', 1), ('credentials', 1);
