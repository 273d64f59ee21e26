-- Keywarden storage schema for PostgreSQL, version 1: the same tables,
-- columns and rules as SQLite's migrations 0001-0004 (../000*.sql), which
-- docs/formats/storage-schema.md documents column by column. Never edit
-- this file once released: add the next numbered migration instead.
--
-- Encodings (as on SQLite):
--   times      BIGINT microseconds since 1970-01-01T00:00:00Z (UTC); NULL = absent
--   booleans   BIGINT 0 or 1
--   state      BIGINT Key Protect state code (0,1,2,3,5), never an enum ordinal
--   strings    BYTEA: every string column holds bytes, compared and ordered
--              byte for byte, as SQLite's TEXT with its BINARY collation does
--              (names and descriptions may hold any byte, NUL included,
--              which PostgreSQL's text cannot). Read one with
--              convert_from(column, 'UTF8') in psql.
--   tags/lists BYTEA holding a JSON array of strings (the tags encoding)
-- Applied in one transaction under an advisory lock (PostgresStore::Open).

CREATE TABLE instances (
  id            BYTEA  NOT NULL PRIMARY KEY,
  name          BYTEA  NOT NULL DEFAULT '',
  created_by    BYTEA  NOT NULL DEFAULT '',
  creation_time BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE keys (
  instance_id                       BYTEA  NOT NULL REFERENCES instances (id),
  id                                BYTEA  NOT NULL,
  name                              BYTEA  NOT NULL,
  description                       BYTEA  NOT NULL,
  tags                              BYTEA  NOT NULL DEFAULT '[]',
  key_ring_id                       BYTEA  NOT NULL,
  extractable                       BIGINT NOT NULL CHECK (extractable IN (0, 1)),
  imported                          BIGINT NOT NULL CHECK (imported IN (0, 1)),
  state                             BIGINT NOT NULL CHECK (state IN (0, 1, 2, 3, 5)),
  material_bits                     BIGINT NOT NULL,
  expiration_time                   BIGINT,
  creation_time                     BIGINT NOT NULL,
  created_by                        BYTEA  NOT NULL,
  last_update_time                  BIGINT NOT NULL,
  last_state_change_time            BIGINT NOT NULL,
  last_rotate_time                  BIGINT,
  deletion_time                     BIGINT,
  deleted_by                        BYTEA  NOT NULL,
  primary_seq                       BIGINT NOT NULL,
  last_sync_time                    BIGINT,
  deletion_authorized_by            BYTEA  NOT NULL DEFAULT '',
  deletion_authorization_expiration BIGINT,
  PRIMARY KEY (instance_id, id)
);

CREATE INDEX keys_by_instance_state ON keys (instance_id, state, id);
CREATE INDEX keys_expiry ON keys (expiration_time)
  WHERE state IN (1, 2) AND expiration_time IS NOT NULL;
CREATE INDEX keys_by_ring ON keys (instance_id, key_ring_id);
CREATE INDEX keys_destroyed ON keys (deletion_time) WHERE state = 5;

CREATE TABLE key_versions (
  instance_id     BYTEA  NOT NULL,
  key_id          BYTEA  NOT NULL,
  version_id      BYTEA  NOT NULL,
  seq             BIGINT NOT NULL,
  creation_time   BIGINT NOT NULL,
  master_key_id   BYTEA  NOT NULL,
  sealed_material BYTEA  NOT NULL,
  PRIMARY KEY (instance_id, key_id, version_id),
  UNIQUE (instance_id, key_id, seq),
  FOREIGN KEY (instance_id, key_id) REFERENCES keys (instance_id, id)
    ON DELETE CASCADE
);

CREATE TABLE meta (
  name  BYTEA NOT NULL PRIMARY KEY,
  value BYTEA NOT NULL
);

CREATE TABLE principals (
  id            BYTEA  NOT NULL PRIMARY KEY,
  kind          BYTEA  NOT NULL CHECK (kind IN ('user', 'service_id')),
  name          BYTEA  NOT NULL,
  service_type  BYTEA  NOT NULL,
  admin         BIGINT NOT NULL CHECK (admin IN (0, 1)),
  creation_time BIGINT NOT NULL,
  created_by    BYTEA  NOT NULL,
  CHECK (kind = 'service_id' OR service_type = '')
);

CREATE TABLE api_keys (
  id            BYTEA  NOT NULL PRIMARY KEY,
  principal_id  BYTEA  NOT NULL REFERENCES principals (id) ON DELETE CASCADE,
  name          BYTEA  NOT NULL,
  prefix        BYTEA  NOT NULL UNIQUE CHECK (prefix <> ''),
  secret_hash   BYTEA  NOT NULL CHECK (octet_length(secret_hash) = 32),
  creation_time BIGINT NOT NULL,
  created_by    BYTEA  NOT NULL
);
CREATE INDEX api_keys_by_principal ON api_keys (principal_id);

CREATE TABLE policies (
  id            BYTEA  NOT NULL PRIMARY KEY,
  principal_id  BYTEA  NOT NULL REFERENCES principals (id) ON DELETE CASCADE,
  instance_id   BYTEA  NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
  key_ring_id   BYTEA,
  key_id        BYTEA,
  roles         BYTEA  NOT NULL CHECK (roles <> ''),
  creation_time BIGINT NOT NULL,
  created_by    BYTEA  NOT NULL,
  CHECK (key_ring_id IS NULL OR key_id IS NULL)
);
CREATE INDEX policies_by_principal ON policies (principal_id);
CREATE INDEX policies_by_instance ON policies (instance_id);

CREATE TABLE authorizations (
  id                  BYTEA  NOT NULL PRIMARY KEY,
  source_service_id   BYTEA  REFERENCES principals (id) ON DELETE CASCADE,
  source_service_type BYTEA  NOT NULL,
  instance_id         BYTEA  NOT NULL
                             REFERENCES instances (id) ON DELETE CASCADE,
  key_ring_id         BYTEA,
  key_id              BYTEA,
  role                BYTEA  NOT NULL CHECK (role IN ('Reader', 'ReaderPlus',
                        'Writer', 'Manager', 'KeyPurge', 'KmipAdapterManager')),
  creation_time       BIGINT NOT NULL,
  created_by          BYTEA  NOT NULL,
  CHECK ((source_service_id IS NULL) <> (source_service_type = '')),
  CHECK (source_service_id IS NULL OR source_service_id <> ''),
  CHECK (key_ring_id IS NULL OR key_id IS NULL)
);
CREATE INDEX authorizations_by_source ON authorizations (source_service_id)
  WHERE source_service_id IS NOT NULL;
CREATE INDEX authorizations_by_instance ON authorizations (instance_id);

CREATE TABLE signing_keys (
  kid                BYTEA  NOT NULL PRIMARY KEY,
  algorithm          BYTEA  NOT NULL,
  sealed_private_key BYTEA  NOT NULL,
  master_key_id      BYTEA  NOT NULL,
  public_key_der     BYTEA  NOT NULL,
  creation_time      BIGINT NOT NULL,
  retire_time        BIGINT NOT NULL
);

-- The audit log (docs/formats/audit.md): seq 1, 2, 3, ... assigned by the
-- store inside the (serialised) transaction of the change it records.
CREATE TABLE audit_log (
  seq            BIGINT NOT NULL PRIMARY KEY CHECK (seq > 0),
  time           BIGINT NOT NULL,
  actor          BYTEA  NOT NULL,
  action         BYTEA  NOT NULL,
  target         BYTEA  NOT NULL,
  outcome        BIGINT NOT NULL CHECK (outcome IN (0, 1)),
  correlation_id BYTEA  NOT NULL,
  source_address BYTEA  NOT NULL,
  details        BYTEA  NOT NULL,
  prev_hash      BYTEA  NOT NULL CHECK (octet_length(prev_hash) = 32),
  hash           BYTEA  NOT NULL CHECK (octet_length(hash) = 32)
);

-- Append-only against mistakes (a stray UPDATE in a maintenance script).
-- Not a security boundary: the table's owner can drop the trigger; the
-- hash chain is what shows such a change.
CREATE FUNCTION kw_audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only';
END
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION kw_audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION kw_audit_log_append_only();

CREATE TABLE key_rings (
  instance_id   BYTEA  NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
  id            BYTEA  NOT NULL CHECK (id <> 'default'),
  creation_time BIGINT NOT NULL,
  created_by    BYTEA  NOT NULL,
  PRIMARY KEY (instance_id, id)
);

CREATE TABLE key_aliases (
  instance_id   BYTEA  NOT NULL,
  alias         BYTEA  NOT NULL,
  key_id        BYTEA  NOT NULL,
  creation_time BIGINT NOT NULL,
  created_by    BYTEA  NOT NULL,
  PRIMARY KEY (instance_id, alias),
  FOREIGN KEY (instance_id, key_id) REFERENCES keys (instance_id, id)
    ON DELETE CASCADE
);
CREATE INDEX key_aliases_by_key ON key_aliases (instance_id, key_id, alias);

CREATE TABLE key_policies (
  instance_id      BYTEA  NOT NULL,
  key_id           BYTEA  NOT NULL,
  policy_type      BYTEA  NOT NULL
                          CHECK (policy_type IN ('rotation', 'dualAuthDelete')),
  id               BYTEA  NOT NULL CHECK (id <> ''),
  enabled          BIGINT NOT NULL CHECK (enabled IN (0, 1)),
  interval_months  BIGINT,
  creation_time    BIGINT NOT NULL,
  created_by       BYTEA  NOT NULL,
  last_update_time BIGINT NOT NULL,
  updated_by       BYTEA  NOT NULL,
  PRIMARY KEY (instance_id, key_id, policy_type),
  FOREIGN KEY (instance_id, key_id) REFERENCES keys (instance_id, id)
    ON DELETE CASCADE,
  CHECK ((policy_type = 'rotation') = (interval_months IS NOT NULL))
);
CREATE INDEX key_policies_rotation ON key_policies (instance_id, key_id)
  WHERE policy_type = 'rotation' AND enabled = 1;

CREATE TABLE import_tokens (
  instance_id          BYTEA  NOT NULL PRIMARY KEY
                              REFERENCES instances (id) ON DELETE CASCADE,
  id                   BYTEA  NOT NULL CHECK (id <> ''),
  creation_time        BIGINT NOT NULL,
  expiration_time      BIGINT NOT NULL,
  max_retrievals       BIGINT NOT NULL CHECK (max_retrievals >= 1),
  remaining_retrievals BIGINT NOT NULL
                       CHECK (remaining_retrievals BETWEEN 0 AND max_retrievals),
  nonce                BYTEA  NOT NULL,
  public_key_pem       BYTEA  NOT NULL,
  master_key_id        BYTEA  NOT NULL,
  sealed_private_key   BYTEA  NOT NULL,
  created_by           BYTEA  NOT NULL
);

CREATE TABLE instance_policies (
  instance_id              BYTEA  NOT NULL
                                  REFERENCES instances (id) ON DELETE CASCADE,
  policy_type              BYTEA  NOT NULL CHECK (policy_type IN (
                             'dualAuthDelete', 'rotation', 'allowedNetwork',
                             'allowedIP', 'keyCreateImportAccess', 'metrics')),
  enabled                  BIGINT NOT NULL CHECK (enabled IN (0, 1)),
  rotation_interval_months BIGINT,
  allowed_network          BYTEA  CHECK (allowed_network IN
                             ('public-and-private', 'private-only')),
  allowed_ips              BYTEA,
  create_root_key          BIGINT CHECK (create_root_key IN (0, 1)),
  create_standard_key      BIGINT CHECK (create_standard_key IN (0, 1)),
  import_root_key          BIGINT CHECK (import_root_key IN (0, 1)),
  import_standard_key      BIGINT CHECK (import_standard_key IN (0, 1)),
  enforce_token            BIGINT CHECK (enforce_token IN (0, 1)),
  creation_time            BIGINT NOT NULL,
  created_by               BYTEA  NOT NULL,
  last_update_time         BIGINT NOT NULL,
  updated_by               BYTEA  NOT NULL,
  PRIMARY KEY (instance_id, policy_type),
  CHECK ((policy_type = 'rotation') = (rotation_interval_months IS NOT NULL)),
  CHECK ((policy_type = 'allowedNetwork') = (allowed_network IS NOT NULL)),
  CHECK ((policy_type = 'allowedIP') = (allowed_ips IS NOT NULL)),
  CHECK ((policy_type = 'keyCreateImportAccess') = (
          create_root_key IS NOT NULL AND create_standard_key IS NOT NULL AND
          import_root_key IS NOT NULL AND import_standard_key IS NOT NULL AND
          enforce_token IS NOT NULL))
);

CREATE TABLE registrations (
  instance_id           BYTEA  NOT NULL,
  key_id                BYTEA  NOT NULL,
  resource_crn          BYTEA  NOT NULL,
  service_id            BYTEA  NOT NULL,
  description           BYTEA  NOT NULL,
  registration_metadata BYTEA  NOT NULL,
  prevent_key_deletion  BIGINT NOT NULL CHECK (prevent_key_deletion IN (0, 1)),
  key_version_id        BYTEA  NOT NULL,
  creation_time         BIGINT NOT NULL,
  created_by            BYTEA  NOT NULL,
  last_update_time      BIGINT NOT NULL,
  updated_by            BYTEA  NOT NULL,
  revision              BIGINT NOT NULL CHECK (revision >= 1),
  PRIMARY KEY (instance_id, key_id, resource_crn),
  FOREIGN KEY (instance_id, key_id) REFERENCES keys (instance_id, id)
    ON DELETE CASCADE
);
CREATE INDEX registrations_by_service
  ON registrations (instance_id, service_id, key_id, resource_crn);

CREATE TABLE key_events (
  id                      BYTEA  NOT NULL PRIMARY KEY,
  instance_id             BYTEA  NOT NULL,
  key_id                  BYTEA  NOT NULL,
  service_id              BYTEA  NOT NULL,
  event_type              BYTEA  NOT NULL CHECK (event_type IN ('rotate',
                            'disable', 'enable', 'delete', 'restore', 'sync')),
  event_time              BIGINT NOT NULL,
  key_state               BIGINT NOT NULL CHECK (key_state IN (0, 1, 2, 3, 5)),
  key_version_id          BYTEA  NOT NULL,
  previous_key_version_id BYTEA  NOT NULL,
  resource_crns           BYTEA  NOT NULL,
  attempts                BIGINT NOT NULL CHECK (attempts >= 0),
  next_attempt_time       BIGINT NOT NULL,
  last_attempt_time       BIGINT,
  delivered_time          BIGINT,
  last_error              BYTEA  NOT NULL,
  acknowledged_time       BIGINT,
  adopter_key_state       BYTEA  NOT NULL
);
CREATE INDEX key_events_due ON key_events (next_attempt_time)
  WHERE acknowledged_time IS NULL;

CREATE TABLE job_leases (
  name         BYTEA  NOT NULL PRIMARY KEY,
  holder       BYTEA  NOT NULL,
  expires_time BIGINT NOT NULL
);

CREATE TABLE webhooks (
  principal_id  BYTEA  NOT NULL PRIMARY KEY
                       REFERENCES principals (id) ON DELETE CASCADE,
  url           BYTEA  NOT NULL CHECK (url <> ''),
  master_key_id BYTEA  NOT NULL,
  sealed_secret BYTEA  NOT NULL,
  creation_time BIGINT NOT NULL,
  created_by    BYTEA  NOT NULL
);

-- keys::SearchMatches folds ASCII letters only, and compares bytes. The
-- 'escape' encoding turns NUL and bytes >= 0x80 into \nnn and doubles
-- backslashes, so the text lower() sees is ASCII; lower() in the "C"
-- collation folds A-Z only; decode() restores every other byte as it was.
CREATE FUNCTION kw_ascii_lower(b BYTEA) RETURNS BYTEA
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT decode(lower(encode(b, 'escape') COLLATE "C"), 'escape')
$$;

-- keys::CrnPattern::Matches (keys/registration.cc) for a pattern that
-- CrnPattern::Parse accepted: ten ':'-separated segments, each `*` (any
-- value) or a literal, and the last may end in `*` (a prefix). A CRN
-- matches if it has ten segments and each matches. SQLite registers the
-- C++ function under the same name.
CREATE FUNCTION kw_crn_match(pattern BYTEA, crn BYTEA) RETURNS BOOLEAN
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
  p BYTEA := pattern;
  c BYTEA := crn;
  pi INT;
  ci INT;
  ps BYTEA;
  cs BYTEA;
BEGIN
  FOR i IN 1..9 LOOP
    pi := position('\x3a'::bytea IN p);
    ci := position('\x3a'::bytea IN c);
    IF pi = 0 OR ci = 0 THEN
      RETURN false;
    END IF;
    ps := substring(p FROM 1 FOR pi - 1);
    cs := substring(c FROM 1 FOR ci - 1);
    IF ps <> '\x2a'::bytea AND ps <> cs THEN
      RETURN false;
    END IF;
    p := substring(p FROM pi + 1);
    c := substring(c FROM ci + 1);
  END LOOP;
  -- The tenth segment is what is left; an eleventh would be another ':'.
  IF position('\x3a'::bytea IN p) <> 0 OR position('\x3a'::bytea IN c) <> 0 THEN
    RETURN false;
  END IF;
  IF length(p) > 0 AND get_byte(p, length(p) - 1) = 42 THEN
    RETURN substring(c FROM 1 FOR length(p) - 1) =
           substring(p FROM 1 FOR length(p) - 1);
  END IF;
  RETURN p = c;
END
$$;
