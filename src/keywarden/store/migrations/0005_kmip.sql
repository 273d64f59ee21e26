-- Keywarden storage schema, version 5: KMIP adapters, their client
-- certificates and their KMIP objects (keyprotect-api.md §13). Documented in
-- docs/formats/storage-schema.md; never edit this file once released.
--
-- An adapter binds KMIP clients (by the exact certificate registered to it)
-- to one root key of its instance, crk_id (a key id, resolved from an alias
-- at creation). Its objects' material is sealed under that root key as a
-- WDEK (docs/formats/wdek.md), so disabling the key stops the objects and
-- purging it shreds them. crk_id has no foreign key: a purged key leaves
-- the adapter, whose objects then can no longer be opened.

CREATE TABLE kmip_adapters (
  instance_id  TEXT    NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
  id           TEXT    NOT NULL,
  name         TEXT    NOT NULL,
  description  TEXT    NOT NULL,
  profile      TEXT    NOT NULL,
  crk_id       TEXT    NOT NULL,
  created_at   INTEGER NOT NULL,
  created_by   TEXT    NOT NULL,
  updated_at   INTEGER NOT NULL,
  updated_by   TEXT    NOT NULL,
  PRIMARY KEY (instance_id, id),
  UNIQUE (instance_id, name)
) STRICT, WITHOUT ROWID;

-- A client certificate is unique in the whole database (by the SHA-256 of
-- its DER, hex), because a TLS peer is mapped to its adapter by it alone.
CREATE TABLE kmip_certificates (
  instance_id  TEXT    NOT NULL,
  adapter_id   TEXT    NOT NULL,
  id           TEXT    NOT NULL,
  name         TEXT    NOT NULL,
  pem          TEXT    NOT NULL,
  fingerprint  TEXT    NOT NULL UNIQUE,
  created_at   INTEGER NOT NULL,
  created_by   TEXT    NOT NULL,
  PRIMARY KEY (instance_id, adapter_id, id),
  UNIQUE (instance_id, adapter_id, name),
  FOREIGN KEY (instance_id, adapter_id)
    REFERENCES kmip_adapters (instance_id, id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

-- A KMIP managed object. state is the KMIP State code (1 Pre-Active,
-- 2 Active, 3 Deactivated, 4 Compromised, 5 Destroyed, 6 Destroyed
-- Compromised); object_type, algorithm and key_format the KMIP enumeration
-- values. attributes is the object's attribute list in KMIP 2.0 TTLV
-- (docs/formats/kmip.md), names a JSON array of its Name values (for
-- Locate). sealed_material is the WDEK of the material under the adapter's
-- root key (AAD: docs/formats/kmip.md "Object material"); empty once the
-- object is destroyed.
CREATE TABLE kmip_objects (
  instance_id          TEXT    NOT NULL,
  adapter_id           TEXT    NOT NULL,
  id                   TEXT    NOT NULL,
  object_type          INTEGER NOT NULL,
  algorithm            INTEGER,
  length               INTEGER,
  key_format           INTEGER NOT NULL,
  state                INTEGER NOT NULL CHECK (state BETWEEN 1 AND 6),
  names                TEXT    NOT NULL DEFAULT '[]',
  attributes           BLOB    NOT NULL,
  sealed_material      BLOB    NOT NULL,
  revision             INTEGER NOT NULL,
  created_at           INTEGER NOT NULL,
  created_by_cert_id   TEXT    NOT NULL,
  updated_at           INTEGER NOT NULL,
  updated_by_cert_id   TEXT    NOT NULL,
  destroyed_at         INTEGER,
  destroyed_by_cert_id TEXT    NOT NULL DEFAULT '',
  PRIMARY KEY (instance_id, adapter_id, id),
  FOREIGN KEY (instance_id, adapter_id)
    REFERENCES kmip_adapters (instance_id, id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

CREATE INDEX kmip_objects_by_state
  ON kmip_objects (instance_id, adapter_id, state, id);
