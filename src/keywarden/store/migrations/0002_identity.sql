-- Keywarden storage schema, version 2: identity and access (principals,
-- API keys, instance names, access policies, service authorizations, token
-- signing keys) and the hash-chained audit log. Documented column by column
-- in docs/formats/storage-schema.md; never edit this file once released.
--
-- Encodings as in 0001, plus:
--   kind       TEXT 'user' | 'service_id'
--   roles      TEXT role names joined by ',' in the caller's order, e.g.
--              'Reader,Writer' (names: Reader, ReaderPlus, Writer, Manager,
--              KeyPurge, KmipAdapterManager)
--   outcome    INTEGER 0 success, 1 failure
--   hashes     BLOB of 32 bytes (SHA-256)

-- Instances created before migration 2 (by EnsureInstance) keep an empty
-- name, an empty creator and creation time 0 (1970-01-01T00:00:00Z).
ALTER TABLE instances ADD COLUMN name TEXT NOT NULL DEFAULT '';
ALTER TABLE instances ADD COLUMN created_by TEXT NOT NULL DEFAULT '';
ALTER TABLE instances ADD COLUMN creation_time INTEGER NOT NULL DEFAULT 0;

CREATE TABLE principals (
  id            TEXT    NOT NULL PRIMARY KEY,
  kind          TEXT    NOT NULL CHECK (kind IN ('user', 'service_id')),
  name          TEXT    NOT NULL,
  service_type  TEXT    NOT NULL,
  admin         INTEGER NOT NULL CHECK (admin IN (0, 1)),
  creation_time INTEGER NOT NULL,
  created_by    TEXT    NOT NULL,
  CHECK (kind = 'service_id' OR service_type = '')
) STRICT, WITHOUT ROWID;

CREATE TABLE api_keys (
  id            TEXT    NOT NULL PRIMARY KEY,
  principal_id  TEXT    NOT NULL REFERENCES principals (id) ON DELETE CASCADE,
  name          TEXT    NOT NULL,
  prefix        TEXT    NOT NULL UNIQUE CHECK (prefix <> ''),
  secret_hash   BLOB    NOT NULL CHECK (length(secret_hash) = 32),
  creation_time INTEGER NOT NULL,
  created_by    TEXT    NOT NULL
) STRICT;

-- Foreign-key children are indexed so that a cascade (and the parent's
-- delete check) does not scan the child table.
CREATE INDEX api_keys_by_principal ON api_keys (principal_id);

CREATE TABLE policies (
  id            TEXT    NOT NULL PRIMARY KEY,
  principal_id  TEXT    NOT NULL REFERENCES principals (id) ON DELETE CASCADE,
  instance_id   TEXT    NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
  key_ring_id   TEXT,
  key_id        TEXT,
  roles         TEXT    NOT NULL CHECK (roles <> ''),
  creation_time INTEGER NOT NULL,
  created_by    TEXT    NOT NULL,
  CHECK (key_ring_id IS NULL OR key_id IS NULL)
) STRICT;

CREATE INDEX policies_by_principal ON policies (principal_id);
CREATE INDEX policies_by_instance ON policies (instance_id);

CREATE TABLE authorizations (
  id                  TEXT    NOT NULL PRIMARY KEY,
  -- NULL when the source is a service type (so the foreign key holds).
  source_service_id   TEXT    REFERENCES principals (id) ON DELETE CASCADE,
  -- '' when the source is one service id.
  source_service_type TEXT    NOT NULL,
  instance_id         TEXT    NOT NULL
                              REFERENCES instances (id) ON DELETE CASCADE,
  key_ring_id         TEXT,
  key_id              TEXT,
  role                TEXT    NOT NULL CHECK (role IN ('Reader', 'ReaderPlus',
                        'Writer', 'Manager', 'KeyPurge', 'KmipAdapterManager')),
  creation_time       INTEGER NOT NULL,
  created_by          TEXT    NOT NULL,
  CHECK ((source_service_id IS NULL) <> (source_service_type = '')),
  CHECK (source_service_id IS NULL OR source_service_id <> ''),
  CHECK (key_ring_id IS NULL OR key_id IS NULL)
) STRICT;

CREATE INDEX authorizations_by_source ON authorizations (source_service_id)
  WHERE source_service_id IS NOT NULL;
CREATE INDEX authorizations_by_instance ON authorizations (instance_id);

CREATE TABLE signing_keys (
  kid                TEXT    NOT NULL PRIMARY KEY,
  algorithm          TEXT    NOT NULL,
  sealed_private_key BLOB    NOT NULL,
  master_key_id      TEXT    NOT NULL,
  public_key_der     BLOB    NOT NULL,
  creation_time      INTEGER NOT NULL,
  retire_time        INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- The audit log (docs/formats/audit.md). `seq` is the rowid: 1, 2, 3, …
-- assigned by the store inside the transaction of the change it records.
CREATE TABLE audit_log (
  seq            INTEGER NOT NULL PRIMARY KEY CHECK (seq > 0),
  time           INTEGER NOT NULL,
  actor          TEXT    NOT NULL,
  action         TEXT    NOT NULL,
  target         TEXT    NOT NULL,
  outcome        INTEGER NOT NULL CHECK (outcome IN (0, 1)),
  correlation_id TEXT    NOT NULL,
  source_address TEXT    NOT NULL,
  details        TEXT    NOT NULL,
  prev_hash      BLOB    NOT NULL CHECK (length(prev_hash) = 32),
  hash           BLOB    NOT NULL CHECK (length(hash) = 32)
) STRICT;

-- Append-only against mistakes (a stray UPDATE in a maintenance script).
-- Not a security boundary: whoever can write the file can drop these
-- triggers; the hash chain is what shows such a change.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
  SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
  SELECT RAISE(ABORT, 'audit_log is append-only');
END;
