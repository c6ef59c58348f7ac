-- The console's audit search: who an event concerns, as columns the filters can use. Partial
-- indexes: most events name a client, few an entity.
ALTER TABLE audit ADD COLUMN client_id TEXT;
ALTER TABLE audit ADD COLUMN sub TEXT;
ALTER TABLE audit ADD COLUMN entity TEXT;
UPDATE audit SET client_id = body::jsonb ->> 'client_id', sub = body::jsonb ->> 'sub'
    WHERE jsonb_typeof(body::jsonb) = 'object';
CREATE INDEX IF NOT EXISTS audit_client ON audit (client_id, seq) WHERE client_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS audit_sub ON audit (sub, seq) WHERE sub IS NOT NULL;
CREATE INDEX IF NOT EXISTS audit_entity ON audit (entity, seq) WHERE entity IS NOT NULL;
