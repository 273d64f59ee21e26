#ifndef KEYWARDEN_STORE_POSTGRES_POSTGRES_STORE_H_
#define KEYWARDEN_STORE_POSTGRES_POSTGRES_STORE_H_

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "keywarden/store/sql/sql_store.h"

namespace keywarden::store {

namespace postgres_internal {
class PgConnection;
struct ConnectParams;
}  // namespace postgres_internal

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
// Change feed (docs/operations.md "Many nodes"): every group commit that
// changed something a node caches also bumps change_feed.seq and sends
// NOTIFY keywarden_changes with what changed, in the same transaction, so
// other nodes hear exactly of what committed. StartChangeFeed opens one
// more session that LISTENs, and polls seq as the fallback for a lost
// session or a missed notice (then: Change::All()).
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

  absl::Status StartChangeFeed(ChangeFeedOptions options) override;

  // The channel of the change notices: keywarden_changes, or kw_changes_
  // and the schema when there is one (channels are per database, schemas
  // are not; a schema name cut to fit 63 bytes may share a channel, which
  // costs only needless reloads).
  const std::string& channel() const { return channel_; }

 protected:
  absl::Status BeginWrite(sql_internal::Connection& db) override;
  absl::Status PublishChangesLocked(sql_internal::Connection& db,
                                    std::span<const Change> changes) override;

 private:
  PostgresStore(std::unique_ptr<sql_internal::Connection> writer,
                std::vector<std::unique_ptr<sql_internal::Connection>> readers,
                int max_group_commit);

  // The feed thread's loop (see the class comment), from a session that
  // LISTENs already.
  void RunFeed(absl::Duration poll_interval,
               std::unique_ptr<postgres_internal::PgConnection> conn);
  postgres_internal::ConnectParams FeedParams() const;
  // Handles one notice's payload; updates `last_seq`.
  void OnNotice(std::string_view payload, int64_t& last_seq);

  Options options_;
  std::string channel_ = "keywarden_changes";
  // Names this process in the notices it sends, so it skips its own.
  std::string origin_;
  // change_feed.seq when Open finished: the feed reports anything after it.
  int64_t opened_seq_ = 0;
  absl::Notification stop_feed_;
  std::thread feed_;
};

}  // namespace keywarden::store

#endif  // KEYWARDEN_STORE_POSTGRES_POSTGRES_STORE_H_
