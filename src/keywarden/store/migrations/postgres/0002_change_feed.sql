-- The change feed that keeps the caches of every node coherent
-- (docs/formats/storage-schema.md "Change feed", docs/operations.md "Many
-- nodes"). One row: `seq` grows by one in every write transaction that
-- changes something a node caches, in the same transaction as the change,
-- which also sends NOTIFY keywarden_changes. A node LISTENs for those and
-- polls `seq` as a fallback; a seq it did not hear about means a notice was
-- missed, and it then drops every cache.
CREATE TABLE change_feed (
  id  SMALLINT NOT NULL PRIMARY KEY CHECK (id = 1),
  seq BIGINT   NOT NULL
);
INSERT INTO change_feed (id, seq) VALUES (1, 0);
