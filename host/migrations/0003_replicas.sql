-- Browser sessions, authorization requests and connect flows under way: in the store, so that a
-- restart (or another replica) continues them.
CREATE TABLE flows (
    kind        TEXT NOT NULL,          -- session | request | connect
    id          TEXT NOT NULL,          -- a session: SHA-256 of its cookie; otherwise its id
    owner       TEXT,                   -- whose: a signed-in session's or a connect flow's user, a
                                        -- request's session digest (each owner's flows are bounded)
    body        TEXT NOT NULL,          -- JSON; a connect flow's PKCE verifier sealed
    evictable   INTEGER NOT NULL,       -- 1: may give way when its kind is full (anonymous sessions,
                                        -- requests); the others are bounded per owner only
    expires_at  INTEGER NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE INDEX flows_expiry ON flows (kind, evictable, expires_at);
CREATE INDEX flows_owner ON flows (kind, owner, expires_at);

-- Each change bumps its topic's version in the change's own transaction; replicas compare them.
CREATE TABLE versions (
    topic       TEXT PRIMARY KEY,       -- entities | keys | revocations | credentials
    version     INTEGER NOT NULL
);
INSERT INTO versions (topic, version) VALUES
    ('entities', 1), ('keys', 1), ('revocations', 1), ('credentials', 1);

-- The revocations version at which a token was revoked, so replicas read only what is new.
ALTER TABLE tokens ADD COLUMN revoked_version INTEGER;
CREATE INDEX tokens_revoked ON tokens (revoked_version) WHERE revoked_version IS NOT NULL;
