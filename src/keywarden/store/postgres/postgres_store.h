#ifndef KEYWARDEN_STORE_POSTGRES_POSTGRES_STORE_H_
#define KEYWARDEN_STORE_POSTGRES_POSTGRES_STORE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "keywarden/store/sql/sql_store.h"

namespace keywarden::store {

// PostgresStore is the SqlStore (sql_store.h has the rules and the write
// path) on a PostgreSQL 15 database shared by any number of nodes, through
// libpq. The schema is migrations/postgres/ (the same tables as SQLite's,
// every string column bytea); docs/operations.md says how to run it.
//
// Durability: a mutation returns OK only after its COMMIT returned, and
// Open refuses a server or role with synchronous_commit = off or fsync =
// off, so an acknowledged write is on the primary's disk (and on the
// synchronous standbys that synchronous_standby_names asks for).
//
// Writers are serialised across every node: each group commit's transaction
// first takes a transaction-scoped advisory lock, so the store's
// read-check-write rules (optimistic checks, limits, the audit chain's next
// seq) hold as they do on SQLite's single writer. Reads use a pool of
// sessions in autocommit, which never wait behind a writer (MVCC).
// Migrations are applied at Open in one transaction under another advisory
// lock, so nodes starting together migrate once.
//
// Purge overwrites the sealed material, then deletes the rows; PostgreSQL
// keeps dead row versions until VACUUM reclaims them, and WAL and base
// backups keep what they recorded (docs/operations.md "Deleted material").
//
// Thread-safe.
class PostgresStore final : public SqlStore {
 public:
  struct Options {
    // A libpq connection URI: postgresql://user[:password]@host:port/db
    // (query parameters such as sslmode are libpq's). Without a password
    // in it, libpq reads PGPASSFILE (or ~/.pgpass), else `password` below.
    std::string url;
    std::string password;
    // The schema (search_path) holding the tables, created if absent; empty
    // means the role's default (normally "public"). Only [a-z0-9_].
    std::string schema;
    // Read sessions in the pool; reads beyond this many wait.
    int read_connections = 4;
    // Most mutations one group commit may carry.
    int max_group_commit = 64;
    absl::Duration connect_timeout = absl::Seconds(10);
  };

  // Connects (1 write session + read_connections read sessions), checks
  // that commits are durable, and applies the migrations the database
  // lacks. Unavailable if the server cannot be reached;
  // FailedPrecondition if the schema is newer than this binary knows or
  // the server acknowledges commits before they are durable;
  // InvalidArgument for a URL that is not postgresql:// or postgres://, or
  // a bad schema name.
  static absl::StatusOr<std::unique_ptr<PostgresStore>> Open(Options options);

  // The newest schema version this binary can open (its last migration).
  static int LatestSchemaVersion();

  ~PostgresStore() override;

 protected:
  absl::Status BeginWrite(sql_internal::Connection& db) override;

 private:
  PostgresStore(std::unique_ptr<sql_internal::Connection> writer,
                std::vector<std::unique_ptr<sql_internal::Connection>> readers,
                int max_group_commit);
};

}  // namespace keywarden::store

#endif  // KEYWARDEN_STORE_POSTGRES_POSTGRES_STORE_H_
