-- Keywarden storage schema, version 1. Documented column by column in
-- docs/formats/storage-schema.md; never edit this file once released: add
-- the next numbered migration instead.
--
-- Encodings (stable, language-neutral, so a dump can be read by any tool):
--   times      INTEGER microseconds since 1970-01-01T00:00:00Z (UTC); NULL = absent
--   booleans   INTEGER 0 or 1
--   state      INTEGER Key Protect state code (0,1,2,3,5), never an enum ordinal
--   tags       TEXT JSON array of strings, in the caller's order
-- STRICT tables make SQLite reject a value of the wrong type instead of
-- silently storing it (requires SQLite >= 3.37).

CREATE TABLE instances (
  id TEXT NOT NULL PRIMARY KEY
) STRICT, WITHOUT ROWID;

CREATE TABLE keys (
  instance_id            TEXT    NOT NULL REFERENCES instances (id),
  id                     TEXT    NOT NULL,
  name                   TEXT    NOT NULL,
  description            TEXT    NOT NULL,
  tags                   TEXT    NOT NULL DEFAULT '[]',
  key_ring_id            TEXT    NOT NULL,
  extractable            INTEGER NOT NULL CHECK (extractable IN (0, 1)),
  imported               INTEGER NOT NULL CHECK (imported IN (0, 1)),
  state                  INTEGER NOT NULL CHECK (state IN (0, 1, 2, 3, 5)),
  material_bits          INTEGER NOT NULL,
  expiration_time        INTEGER,
  creation_time          INTEGER NOT NULL,
  created_by             TEXT    NOT NULL,
  last_update_time       INTEGER NOT NULL,
  last_state_change_time INTEGER NOT NULL,
  last_rotate_time       INTEGER,
  deletion_time          INTEGER,
  deleted_by             TEXT    NOT NULL,
  -- seq of the primary (newest) row in key_versions: lists join on it
  -- instead of searching for the maximum.
  primary_seq            INTEGER NOT NULL,
  PRIMARY KEY (instance_id, id)
) STRICT;

-- Listing one instance's keys filtered by state (the default list excludes
-- Destroyed keys), in id order.
CREATE INDEX keys_by_instance_state ON keys (instance_id, state, id);

-- The expiry sweep: only Active and Suspended keys with an expiration date
-- can expire, so the partial index stays small however many keys exist.
CREATE INDEX keys_expiry ON keys (expiration_time)
  WHERE state IN (1, 2) AND expiration_time IS NOT NULL;

CREATE TABLE key_versions (
  instance_id     TEXT    NOT NULL,
  key_id          TEXT    NOT NULL,
  version_id      TEXT    NOT NULL,
  -- 0 for the first version, +1 per rotation: the stable version order.
  seq             INTEGER NOT NULL,
  creation_time   INTEGER NOT NULL,
  master_key_id   TEXT    NOT NULL,
  sealed_material BLOB    NOT NULL,
  PRIMARY KEY (instance_id, key_id, version_id),
  UNIQUE (instance_id, key_id, seq),
  FOREIGN KEY (instance_id, key_id) REFERENCES keys (instance_id, id)
    ON DELETE CASCADE
) STRICT;

CREATE TABLE meta (
  name  TEXT NOT NULL PRIMARY KEY,
  value BLOB NOT NULL
) STRICT, WITHOUT ROWID;
