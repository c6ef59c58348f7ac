-- The console's audit search: whom an event concerns, as columns the filters can use, filled for
-- the events already stored as the server fills them for new ones (audit.rs, `concerns`).
-- Partial indexes: most events name a client, few an entity. A body PostgreSQL cannot read as
-- jsonb (an escaped NUL, which jsonb refuses) is left unfilled rather than failing the migration.
ALTER TABLE audit ADD COLUMN client_id TEXT;
ALTER TABLE audit ADD COLUMN sub TEXT;
ALTER TABLE audit ADD COLUMN entity TEXT;
UPDATE audit SET
    client_id = CASE
        WHEN event = 'admin_change' THEN
            CASE WHEN body::jsonb ->> 'kind' = 'client' THEN body::jsonb ->> 'id' END
        ELSE body::jsonb ->> 'client_id' END,
    sub = CASE
        WHEN event = 'admin_change' THEN
            CASE WHEN body::jsonb ->> 'kind' = 'user' THEN body::jsonb ->> 'id' END
        WHEN event IN ('credential_linked', 'credential_change') THEN
            CASE WHEN body::jsonb ->> 'owner' LIKE 'user:%'
                THEN substr(body::jsonb ->> 'owner', 6) END
        ELSE body::jsonb ->> 'sub' END,
    entity = CASE
        WHEN event = 'admin_change' THEN (body::jsonb ->> 'kind') || ':' || (body::jsonb ->> 'id')
        WHEN event IN ('credential_access', 'credential_linked', 'credential_change') THEN
            'connection:' || (body::jsonb ->> 'connection') END
    WHERE position('\u0000' in body) = 0 AND left(ltrim(body), 1) = '{';
CREATE INDEX IF NOT EXISTS audit_client ON audit (client_id, seq) WHERE client_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS audit_sub ON audit (sub, seq) WHERE sub IS NOT NULL;
CREATE INDEX IF NOT EXISTS audit_entity ON audit (entity, seq) WHERE entity IS NOT NULL;
