-- Connection credentials, sealed with AES-256-GCM (see src/vault.rs); never stored in clear.
CREATE TABLE credentials (
    connection_id TEXT NOT NULL,
    owner         TEXT NOT NULL,        -- user:<sub> | tenant:<id> | provider
    kind          TEXT NOT NULL,        -- refresh_token | api_key | certificate | client_secret
    key_id        TEXT NOT NULL,        -- the vault key that sealed it
    nonce         BLOB NOT NULL,
    ciphertext    BLOB NOT NULL,
    scope         TEXT,                 -- refresh tokens: the scopes the provider granted
    source        TEXT NOT NULL,        -- config | admin | connect
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (connection_id, owner)
);
