-- Keywarden storage schema, version 4: the key lifecycle (keyprotect-api.md
-- §3.6-3.8, §7, §8, §11, §12, §14): key policies, dual-authorization
-- deletion, sync times, import tokens, instance policies, registrations,
-- lifecycle events and their webhooks, and job leases. Documented column by
-- column in docs/formats/storage-schema.md; never edit this file once
-- released.
--
-- Encodings as in 0001 and 0002, plus:
--   policy_type  TEXT Key Protect policy name ('rotation', 'dualAuthDelete',
--                'allowedNetwork', 'allowedIP', 'keyCreateImportAccess',
--                'metrics'), never an enum ordinal
--   event_type   TEXT 'rotate' | 'disable' | 'enable' | 'delete' | 'restore'
--                | 'sync'
--   lists        TEXT JSON array of strings (the tags encoding)

-- Rows written before migration 4 read as never synced and not set for
-- deletion.
ALTER TABLE keys ADD COLUMN last_sync_time INTEGER;
ALTER TABLE keys ADD COLUMN deletion_authorized_by TEXT NOT NULL DEFAULT '';
ALTER TABLE keys ADD COLUMN deletion_authorization_expiration INTEGER;

-- The automatic purge looks for keys destroyed long ago; partial, so it
-- holds only Destroyed keys.
CREATE INDEX keys_destroyed ON keys (deletion_time) WHERE state = 5;

-- At most one policy of each type per key; purging the key removes them.
CREATE TABLE key_policies (
  instance_id      TEXT    NOT NULL,
  key_id           TEXT    NOT NULL,
  policy_type      TEXT    NOT NULL
                           CHECK (policy_type IN ('rotation', 'dualAuthDelete')),
  id               TEXT    NOT NULL CHECK (id <> ''),
  enabled          INTEGER NOT NULL CHECK (enabled IN (0, 1)),
  -- Rotation policies only: months of 30 days.
  interval_months  INTEGER,
  creation_time    INTEGER NOT NULL,
  created_by       TEXT    NOT NULL,
  last_update_time INTEGER NOT NULL,
  updated_by       TEXT    NOT NULL,
  PRIMARY KEY (instance_id, key_id, policy_type),
  FOREIGN KEY (instance_id, key_id) REFERENCES keys (instance_id, id)
    ON DELETE CASCADE,
  CHECK ((policy_type = 'rotation') = (interval_months IS NOT NULL))
) STRICT, WITHOUT ROWID;

-- The automatic-rotation job reads only enabled rotation policies.
CREATE INDEX key_policies_rotation ON key_policies (instance_id, key_id)
  WHERE policy_type = 'rotation' AND enabled = 1;

-- One import token per instance; a new one replaces the row. The private
-- key is sealed by the master key like key material.
CREATE TABLE import_tokens (
  instance_id          TEXT    NOT NULL PRIMARY KEY
                               REFERENCES instances (id) ON DELETE CASCADE,
  id                   TEXT    NOT NULL CHECK (id <> ''),
  creation_time        INTEGER NOT NULL,
  expiration_time      INTEGER NOT NULL,
  max_retrievals       INTEGER NOT NULL CHECK (max_retrievals >= 1),
  remaining_retrievals INTEGER NOT NULL
                       CHECK (remaining_retrievals BETWEEN 0 AND max_retrievals),
  nonce                BLOB    NOT NULL,
  public_key_pem       TEXT    NOT NULL,
  master_key_id        TEXT    NOT NULL,
  sealed_private_key   BLOB    NOT NULL,
  created_by           TEXT    NOT NULL
) STRICT;

-- One row per (instance, policy type). Attribute columns of other types
-- are NULL, so a row says only what its type means.
CREATE TABLE instance_policies (
  instance_id              TEXT    NOT NULL
                                   REFERENCES instances (id) ON DELETE CASCADE,
  policy_type              TEXT    NOT NULL CHECK (policy_type IN (
                             'dualAuthDelete', 'rotation', 'allowedNetwork',
                             'allowedIP', 'keyCreateImportAccess', 'metrics')),
  enabled                  INTEGER NOT NULL CHECK (enabled IN (0, 1)),
  rotation_interval_months INTEGER,
  allowed_network          TEXT    CHECK (allowed_network IN
                             ('public-and-private', 'private-only')),
  allowed_ips              TEXT,
  create_root_key          INTEGER CHECK (create_root_key IN (0, 1)),
  create_standard_key      INTEGER CHECK (create_standard_key IN (0, 1)),
  import_root_key          INTEGER CHECK (import_root_key IN (0, 1)),
  import_standard_key      INTEGER CHECK (import_standard_key IN (0, 1)),
  enforce_token            INTEGER CHECK (enforce_token IN (0, 1)),
  creation_time            INTEGER NOT NULL,
  created_by               TEXT    NOT NULL,
  last_update_time         INTEGER NOT NULL,
  updated_by               TEXT    NOT NULL,
  PRIMARY KEY (instance_id, policy_type),
  CHECK ((policy_type = 'rotation') = (rotation_interval_months IS NOT NULL)),
  CHECK ((policy_type = 'allowedNetwork') = (allowed_network IS NOT NULL)),
  CHECK ((policy_type = 'allowedIP') = (allowed_ips IS NOT NULL)),
  CHECK ((policy_type = 'keyCreateImportAccess') = (
          create_root_key IS NOT NULL AND create_standard_key IS NOT NULL AND
          import_root_key IS NOT NULL AND import_standard_key IS NOT NULL AND
          enforce_token IS NOT NULL))
) STRICT;

-- A registration: a resource of a service protected by a root key. Purging
-- the key removes its registrations. `service_id` names a principal without
-- a foreign key: deleting a service id does not unregister its resources.
CREATE TABLE registrations (
  instance_id           TEXT    NOT NULL,
  key_id                TEXT    NOT NULL,
  resource_crn          TEXT    NOT NULL,
  service_id            TEXT    NOT NULL,
  description           TEXT    NOT NULL,
  registration_metadata TEXT    NOT NULL,
  prevent_key_deletion  INTEGER NOT NULL CHECK (prevent_key_deletion IN (0, 1)),
  key_version_id        TEXT    NOT NULL,
  creation_time         INTEGER NOT NULL,
  created_by            TEXT    NOT NULL,
  last_update_time      INTEGER NOT NULL,
  updated_by            TEXT    NOT NULL,
  revision              INTEGER NOT NULL CHECK (revision >= 1),
  PRIMARY KEY (instance_id, key_id, resource_crn),
  FOREIGN KEY (instance_id, key_id) REFERENCES keys (instance_id, id)
    ON DELETE CASCADE
) STRICT;

-- A service's registrations in an instance (its listing, and the
-- acknowledgement of an event, which updates the service's registrations
-- of one key).
CREATE INDEX registrations_by_service
  ON registrations (instance_id, service_id, key_id, resource_crn);

-- Lifecycle events, one per (change, registered service). No foreign key
-- to keys: an event outlives the purge of its key.
CREATE TABLE key_events (
  id                      TEXT    NOT NULL PRIMARY KEY,
  instance_id             TEXT    NOT NULL,
  key_id                  TEXT    NOT NULL,
  service_id              TEXT    NOT NULL,
  event_type              TEXT    NOT NULL CHECK (event_type IN ('rotate',
                            'disable', 'enable', 'delete', 'restore', 'sync')),
  event_time              INTEGER NOT NULL,
  key_state               INTEGER NOT NULL CHECK (key_state IN (0, 1, 2, 3, 5)),
  key_version_id          TEXT    NOT NULL,
  previous_key_version_id TEXT    NOT NULL,
  resource_crns           TEXT    NOT NULL,
  attempts                INTEGER NOT NULL CHECK (attempts >= 0),
  next_attempt_time       INTEGER NOT NULL,
  last_attempt_time       INTEGER,
  delivered_time          INTEGER,
  last_error              TEXT    NOT NULL,
  acknowledged_time       INTEGER,
  adopter_key_state       TEXT    NOT NULL
) STRICT;

-- The dispatcher's work list: only events still to deliver.
CREATE INDEX key_events_due ON key_events (next_attempt_time)
  WHERE acknowledged_time IS NULL;

-- Background-job leases: a node runs a job while it holds the row.
CREATE TABLE job_leases (
  name         TEXT    NOT NULL PRIMARY KEY,
  holder       TEXT    NOT NULL,
  expires_time INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- Where a service id receives events; deleting the principal deletes it.
CREATE TABLE webhooks (
  principal_id  TEXT    NOT NULL PRIMARY KEY
                        REFERENCES principals (id) ON DELETE CASCADE,
  url           TEXT    NOT NULL CHECK (url <> ''),
  master_key_id TEXT    NOT NULL,
  sealed_secret BLOB    NOT NULL,
  creation_time INTEGER NOT NULL,
  created_by    TEXT    NOT NULL
) STRICT;
