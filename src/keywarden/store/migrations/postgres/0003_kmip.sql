-- Keywarden storage schema for PostgreSQL, version 3: KMIP adapters, their
-- client certificates and their KMIP objects: the same tables, columns and
-- rules as SQLite's migration 0005 (../0005_kmip.sql), with the encodings of
-- 0001_init.sql (strings BYTEA, times BIGINT microseconds). Never edit this
-- file once released.

CREATE TABLE kmip_adapters (
  instance_id  BYTEA  NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
  id           BYTEA  NOT NULL,
  name         BYTEA  NOT NULL,
  description  BYTEA  NOT NULL,
  profile      BYTEA  NOT NULL,
  crk_id       BYTEA  NOT NULL,
  created_at   BIGINT NOT NULL,
  created_by   BYTEA  NOT NULL,
  updated_at   BIGINT NOT NULL,
  updated_by   BYTEA  NOT NULL,
  PRIMARY KEY (instance_id, id),
  UNIQUE (instance_id, name)
);

CREATE TABLE kmip_certificates (
  instance_id  BYTEA  NOT NULL,
  adapter_id   BYTEA  NOT NULL,
  id           BYTEA  NOT NULL,
  name         BYTEA  NOT NULL,
  pem          BYTEA  NOT NULL,
  fingerprint  BYTEA  NOT NULL UNIQUE,
  created_at   BIGINT NOT NULL,
  created_by   BYTEA  NOT NULL,
  PRIMARY KEY (instance_id, adapter_id, id),
  UNIQUE (instance_id, adapter_id, name),
  FOREIGN KEY (instance_id, adapter_id)
    REFERENCES kmip_adapters (instance_id, id) ON DELETE CASCADE
);

CREATE TABLE kmip_objects (
  instance_id          BYTEA  NOT NULL,
  adapter_id           BYTEA  NOT NULL,
  id                   BYTEA  NOT NULL,
  object_type          BIGINT NOT NULL,
  algorithm            BIGINT,
  length               BIGINT,
  key_format           BIGINT NOT NULL,
  state                BIGINT NOT NULL CHECK (state BETWEEN 1 AND 6),
  names                BYTEA  NOT NULL DEFAULT '[]',
  attributes           BYTEA  NOT NULL,
  sealed_material      BYTEA  NOT NULL,
  revision             BIGINT NOT NULL,
  created_at           BIGINT NOT NULL,
  created_by_cert_id   BYTEA  NOT NULL,
  updated_at           BIGINT NOT NULL,
  updated_by_cert_id   BYTEA  NOT NULL,
  destroyed_at         BIGINT,
  destroyed_by_cert_id BYTEA  NOT NULL DEFAULT '',
  PRIMARY KEY (instance_id, adapter_id, id),
  FOREIGN KEY (instance_id, adapter_id)
    REFERENCES kmip_adapters (instance_id, id) ON DELETE CASCADE
);

CREATE INDEX kmip_objects_by_state
  ON kmip_objects (instance_id, adapter_id, state, id);
