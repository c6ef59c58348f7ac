-- Signing a user out everywhere revokes their tokens by subject.
CREATE INDEX IF NOT EXISTS tokens_sub ON tokens (sub);
