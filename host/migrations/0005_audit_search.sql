-- The console's audit search: whom an event concerns, as columns the filters can use, filled for
-- the events already stored as the server fills them for new ones (audit.rs, `concerns`).
-- Partial indexes: most events name a client, few an entity.
ALTER TABLE audit ADD COLUMN client_id TEXT;
ALTER TABLE audit ADD COLUMN sub TEXT;
ALTER TABLE audit ADD COLUMN entity TEXT;
UPDATE audit SET
    client_id = CASE
        WHEN event = 'admin_change' THEN
            CASE WHEN json_extract(body, '$.kind') = 'client' THEN json_extract(body, '$.id') END
        ELSE json_extract(body, '$.client_id') END,
    sub = CASE
        WHEN event = 'admin_change' THEN
            CASE WHEN json_extract(body, '$.kind') = 'user' THEN json_extract(body, '$.id') END
        WHEN event IN ('credential_linked', 'credential_change') THEN
            CASE WHEN json_extract(body, '$.owner') LIKE 'user:%'
                THEN substr(json_extract(body, '$.owner'), 6) END
        ELSE json_extract(body, '$.sub') END,
    entity = CASE
        WHEN event = 'admin_change' THEN
            json_extract(body, '$.kind') || ':' || json_extract(body, '$.id')
        WHEN event IN ('credential_access', 'credential_linked', 'credential_change') THEN
            'connection:' || json_extract(body, '$.connection') END
    WHERE json_valid(body) AND json_type(body) = 'object';
CREATE INDEX IF NOT EXISTS audit_client ON audit (client_id, seq) WHERE client_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS audit_sub ON audit (sub, seq) WHERE sub IS NOT NULL;
CREATE INDEX IF NOT EXISTS audit_entity ON audit (entity, seq) WHERE entity IS NOT NULL;
