-- Keywarden storage schema, version 3: key rings and key aliases
-- (keyprotect-api.md §9, §10). Documented in docs/formats/storage-schema.md;
-- never edit this file once released.
--
-- Ring `default` exists in every instance implicitly and has no row here.
-- keys.key_ring_id (migration 1) names a ring by id without a foreign key
-- (SQLite cannot add one to an existing table); the service creates keys
-- only in rings that exist and refuses to delete a ring that holds keys.

CREATE TABLE key_rings (
  instance_id   TEXT    NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
  id            TEXT    NOT NULL CHECK (id <> 'default'),
  creation_time INTEGER NOT NULL,
  created_by    TEXT    NOT NULL,
  PRIMARY KEY (instance_id, id)
) STRICT, WITHOUT ROWID;

-- Deleting a ring looks for the keys it holds.
CREATE INDEX keys_by_ring ON keys (instance_id, key_ring_id);

-- An alias names one key; aliases are unique per instance and compared
-- byte for byte (case-sensitive). Purging a key (a later migration may add
-- purge) removes its aliases with it.
CREATE TABLE key_aliases (
  instance_id   TEXT    NOT NULL,
  alias         TEXT    NOT NULL,
  key_id        TEXT    NOT NULL,
  creation_time INTEGER NOT NULL,
  created_by    TEXT    NOT NULL,
  PRIMARY KEY (instance_id, alias),
  FOREIGN KEY (instance_id, key_id) REFERENCES keys (instance_id, id)
    ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

-- A key's aliases, in alias order (GetKey, lists, the per-key limit).
CREATE INDEX key_aliases_by_key ON key_aliases (instance_id, key_id, alias);
