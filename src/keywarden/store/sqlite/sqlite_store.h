#ifndef KEYWARDEN_STORE_SQLITE_SQLITE_STORE_H_
#define KEYWARDEN_STORE_SQLITE_SQLITE_STORE_H_

#include <atomic>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "keywarden/store/sql/sql_store.h"

namespace keywarden::store {

// SqliteStore is the embedded, single-node SqlStore (sql_store.h has the
// rules and the write path): one SQLite database file in WAL mode with
// synchronous=FULL, so a mutation that returned OK survives kill -9 and
// power loss. The file format is docs/formats/storage-schema.md.
//
// A group commit's transaction is BEGIN IMMEDIATE on the one write
// connection. Reads use a pool of read-only connections; WAL lets them run
// concurrently with each other and with the writer, so a read never waits
// behind an fsync. Other processes may read the file (e.g. sqlite3
// .backup) but must not write it.
//
// Purge is crypto-shredding: secure_delete makes SQLite overwrite deleted
// rows and freed pages with zeros, and after a purge the WAL is
// checkpointed and truncated (docs/formats/storage-schema.md "Purge"); if a
// reader keeps the WAL in use, the truncation is retried after later
// commits and at close.
//
// Thread-safe.
class SqliteStore final : public SqlStore {
 public:
  struct Options {
    // Read connections in the pool; reads beyond this many wait.
    int read_connections = 4;
    // How long a statement waits for a lock held by another process (a
    // backup, a checkpoint) before failing with Unavailable.
    absl::Duration busy_timeout = absl::Seconds(5);
    // Most mutations one group commit may carry.
    int max_group_commit = 64;
  };

  // Opens or creates the database at `path` (a file path; ":memory:" is not
  // supported since readers need their own connections to the same file),
  // switches it to WAL, and applies the embedded migrations that it lacks in
  // one transaction. Fails with FailedPrecondition if the file's schema is
  // newer than this binary knows (a downgrade), or if WAL mode cannot be
  // enabled (e.g. a network filesystem).
  static absl::StatusOr<std::unique_ptr<SqliteStore>> Open(std::string path);
  static absl::StatusOr<std::unique_ptr<SqliteStore>> Open(std::string path,
                                                           Options options);

  // The newest schema version this binary can open (its last migration).
  static int LatestSchemaVersion();

  ~SqliteStore() override;

  // The value of `PRAGMA <name>` on the write connection (e.g.
  // "journal_mode", "synchronous"), for readiness checks and tests. `name`
  // must be a bare pragma name ([a-z_]+).
  absl::StatusOr<std::string> Pragma(std::string_view name);

 protected:
  absl::Status BeginWrite(sql_internal::Connection& db) override;
  void AfterCommitLocked(sql_internal::Connection& db) override;
  void AfterPurgeLocked(sql_internal::Connection& db) override;
  bool ShredPending() const override;

 private:
  SqliteStore(std::unique_ptr<sql_internal::Connection> writer,
              std::vector<std::unique_ptr<sql_internal::Connection>> readers,
              int max_group_commit, absl::Duration busy_timeout);

  // Checkpoints the WAL into the main file and truncates it, so frames
  // holding purged rows leave the disk; waits at most briefly for readers.
  // Sets or clears wal_shred_pending_.
  void ShredWal(sql_internal::Connection& db);

  const absl::Duration busy_timeout_;
  std::atomic<bool> wal_shred_pending_{false};
};

}  // namespace keywarden::store

#endif  // KEYWARDEN_STORE_SQLITE_SQLITE_STORE_H_
