-- Disabling a client revokes its tokens by client id.
CREATE INDEX IF NOT EXISTS tokens_client ON tokens (client_id);
