#include "keywarden/store/sqlite/sqlite_store.h"

#include <sqlite3.h>

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "keywarden/common/status_macros.h"
#include "keywarden/store/migrations/migrations.h"
#include "keywarden/store/sql/sql_internal.h"
#include "keywarden/store/sqlite/sqlite_connection.h"

namespace keywarden::store {

using sql_internal::Connection;
using sqlite_internal::SqliteConnection;

namespace {

// The shape of schema_version is frozen forever: it is how every past and
// future binary tells which schema a file has.
constexpr char kCreateVersionTable[] =
    "CREATE TABLE IF NOT EXISTS schema_version ("
    " version INTEGER NOT NULL PRIMARY KEY,"
    " name TEXT NOT NULL,"
    " applied_time INTEGER NOT NULL)";

sqlite3* Raw(Connection& db) {
  // Every connection of a SqliteStore is a SqliteConnection (Open).
  return static_cast<SqliteConnection&>(db).raw();
}

}  // namespace

int SqliteStore::LatestSchemaVersion() {
  return static_cast<int>(EmbeddedMigrations().size());
}

absl::StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::Open(
    std::string path) {
  return Open(std::move(path), Options());
}

absl::StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::Open(
    std::string path, Options options) {
  if (path.empty() || path == ":memory:" || path.starts_with("file:")) {
    return absl::InvalidArgumentError(
        "sqlite store needs a plain database file path");
  }
  if (options.read_connections < 1 || options.max_group_commit < 1) {
    return absl::InvalidArgumentError(
        "read_connections and max_group_commit must be >= 1");
  }
  KW_ASSIGN_OR_RETURN(
      std::unique_ptr<SqliteConnection> writer,
      SqliteConnection::Open(path, /*read_only=*/false, options.busy_timeout));
  // WAL is a property of the file and cannot change inside a transaction,
  // so it is set before migrating. Some filesystems refuse it; the
  // durability and read-concurrency design depends on it, so that is fatal.
  KW_ASSIGN_OR_RETURN(std::string mode,
                      writer->QueryText("PRAGMA journal_mode = WAL"));
  if (mode != "wal") {
    return absl::FailedPreconditionError(absl::StrCat(
        "sqlite store could not enable WAL (journal_mode is ", mode, ")"));
  }
  // Purge is crypto-shredding (docs/formats/storage-schema.md "Purge"):
  // secure_delete makes SQLite overwrite deleted rows and freed pages with
  // zeros, and temp_store keeps statement journals (which may copy pages
  // being changed) in memory rather than in temporary files. Only the write
  // connection changes pages, so only it needs them.
  KW_RETURN_IF_ERROR(
      writer->Exec("PRAGMA secure_delete = ON;"
                   "PRAGMA temp_store = MEMORY;"));
  KW_RETURN_IF_ERROR(writer->Exec("BEGIN IMMEDIATE"));
  absl::Status migrated =
      sql_internal::Migrate(*writer, EmbeddedMigrations(), kCreateVersionTable);
  if (migrated.ok()) migrated = writer->Exec("COMMIT");
  if (!migrated.ok()) {
    writer->Exec("ROLLBACK").IgnoreError();
    return migrated;
  }
  std::vector<std::unique_ptr<Connection>> readers;
  for (int i = 0; i < options.read_connections; ++i) {
    KW_ASSIGN_OR_RETURN(
        std::unique_ptr<SqliteConnection> reader,
        SqliteConnection::Open(path, /*read_only=*/true, options.busy_timeout));
    readers.push_back(std::move(reader));
  }
  return std::unique_ptr<SqliteStore>(
      new SqliteStore(std::move(writer), std::move(readers),
                      options.max_group_commit, options.busy_timeout));
}

SqliteStore::SqliteStore(std::unique_ptr<Connection> writer,
                         std::vector<std::unique_ptr<Connection>> readers,
                         int max_group_commit, absl::Duration busy_timeout)
    : SqlStore(std::move(writer), std::move(readers), max_group_commit),
      busy_timeout_(busy_timeout) {}

SqliteStore::~SqliteStore() {
  // Readers close first so the writer, closing last, can checkpoint the WAL
  // into the main file and remove it.
  CloseReaders();
  // Lets SQLite refresh the planner statistics it finds stale (SQLite's
  // advice for every long-lived connection); cheap, and best effort.
  WithWriter([](Connection& db) { db.Exec("PRAGMA optimize").IgnoreError(); });
}

absl::Status SqliteStore::BeginWrite(Connection& db) {
  KW_ASSIGN_OR_RETURN(sql_internal::Statement st, db.Prepare("BEGIN IMMEDIATE"));
  return st.Run();
}

void SqliteStore::AfterCommitLocked(Connection& db) {
  // A purge's WAL truncation that a reader blocked is retried once a later
  // group is durable.
  if (wal_shred_pending_.load(std::memory_order_relaxed)) ShredWal(db);
}

void SqliteStore::AfterPurgeLocked(Connection& db) {
  // The commit wrote zeroed pages to the WAL, but older frames there (the
  // key's insertion) still hold the material until a checkpoint copies the
  // zeroed pages into the main file and the WAL is truncated.
  ShredWal(db);
}

bool SqliteStore::ShredPending() const {
  return wal_shred_pending_.load(std::memory_order_relaxed);
}

void SqliteStore::ShredWal(Connection& conn) {
  sqlite3* db = Raw(conn);
  // Every write waits on the writer meanwhile, so wait for readers only
  // briefly; a blocked truncation is retried after the next commit.
  constexpr int kCheckpointWaitMs = 100;
  sqlite3_busy_timeout(db, kCheckpointWaitMs);
  int wal_frames = -1;
  int checkpointed = -1;
  int rc = sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_TRUNCATE,
                                     &wal_frames, &checkpointed);
  sqlite3_busy_timeout(
      db, static_cast<int>(absl::ToInt64Milliseconds(busy_timeout_)));
  wal_shred_pending_.store(rc != SQLITE_OK, std::memory_order_relaxed);
}

absl::StatusOr<std::string> SqliteStore::Pragma(std::string_view name) {
  if (name.empty() || name.find_first_not_of("abcdefghijklmnopqrstuvwxyz_") !=
                          std::string_view::npos) {
    return absl::InvalidArgumentError("not a pragma name");
  }
  absl::StatusOr<std::string> out;
  WithWriter([&](Connection& db) {
    out = static_cast<SqliteConnection&>(db).QueryText("PRAGMA " +
                                                       std::string(name));
  });
  return out;
}

}  // namespace keywarden::store
