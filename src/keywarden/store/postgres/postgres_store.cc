#include "keywarden/store/postgres/postgres_store.h"

#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "keywarden/common/status_macros.h"
#include "keywarden/store/migrations/migrations.h"
#include "keywarden/store/postgres/pg_connection.h"
#include "keywarden/store/sql/sql_internal.h"

namespace keywarden::store {

using postgres_internal::ConnectParams;
using postgres_internal::PgConnection;
using sql_internal::Connection;

namespace {

// Advisory lock keys (pg_advisory_xact_lock(int, int)): the first number
// says "keywarden" ('K' 'W' as a 16-bit tag), the second which lock. Locks
// are per database: two deployments in one database (in two schemas)
// share them, which is correct, only slower.
constexpr int kLockClass = 0x4b57;
constexpr int kWriteLock = 1;
constexpr int kMigrationLock = 2;

// The shape of schema_version is frozen forever: it is how every past and
// future binary tells which schema a database has.
constexpr char kCreateVersionTable[] =
    "CREATE TABLE IF NOT EXISTS schema_version ("
    " version BIGINT NOT NULL PRIMARY KEY,"
    " name BYTEA NOT NULL,"
    " applied_time BIGINT NOT NULL)";

bool IsSchemaName(std::string_view name) {
  return !name.empty() && name.size() <= 63 &&
         name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") ==
             std::string_view::npos &&
         !(name[0] >= '0' && name[0] <= '9');
}

// Refuses a session whose commits return before they are durable: then a
// 2xx could be lost on a crash (store.h's contract).
absl::Status CheckDurable(PgConnection& db) {
  KW_ASSIGN_OR_RETURN(std::string sync, db.Setting("synchronous_commit"));
  if (sync == "off") {
    return absl::FailedPreconditionError(
        "postgres: synchronous_commit is off for this role or database, so "
        "an acknowledged write could be lost; set it to on (or "
        "remote_apply)");
  }
  KW_ASSIGN_OR_RETURN(std::string fsync, db.Setting("fsync"));
  if (fsync != "on") {
    return absl::FailedPreconditionError(
        "postgres: the server runs with fsync off, so an acknowledged write "
        "could be lost");
  }
  return absl::OkStatus();
}

}  // namespace

int PostgresStore::LatestSchemaVersion() {
  return static_cast<int>(EmbeddedPostgresMigrations().size());
}

absl::StatusOr<std::unique_ptr<PostgresStore>> PostgresStore::Open(
    Options options) {
  if (!absl::StartsWith(options.url, "postgresql://") &&
      !absl::StartsWith(options.url, "postgres://")) {
    return absl::InvalidArgumentError(
        "postgres store needs a postgresql:// URL");
  }
  if (!options.schema.empty() && !IsSchemaName(options.schema)) {
    return absl::InvalidArgumentError(
        "postgres schema name must be [a-z_][a-z0-9_]*, at most 63 bytes");
  }
  if (options.read_connections < 1 || options.max_group_commit < 1) {
    return absl::InvalidArgumentError(
        "read_connections and max_group_commit must be >= 1");
  }
  ConnectParams params;
  params.url = options.url;
  params.password = options.password;
  params.schema = options.schema;
  params.connect_timeout = options.connect_timeout;
  KW_ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> writer,
                      PgConnection::Open(params));
  KW_RETURN_IF_ERROR(CheckDurable(*writer));
  // DDL is transactional in PostgreSQL: the schema, the tables and the
  // version rows appear together or not at all, and the lock makes nodes
  // that start together take turns (the later ones find nothing to do).
  KW_RETURN_IF_ERROR(writer->Exec(
      absl::StrCat("BEGIN; SELECT pg_advisory_xact_lock(", kLockClass, ", ",
                   kMigrationLock, ")")));
  absl::Status migrated = absl::OkStatus();
  if (!options.schema.empty()) {
    migrated = writer->Exec(
        absl::StrCat("CREATE SCHEMA IF NOT EXISTS ", options.schema));
  }
  if (migrated.ok()) {
    migrated = sql_internal::Migrate(*writer, EmbeddedPostgresMigrations(),
                                     kCreateVersionTable);
  }
  if (migrated.ok()) migrated = writer->Exec("COMMIT");
  if (!migrated.ok()) {
    writer->Exec("ROLLBACK").IgnoreError();
    return migrated;
  }
  std::vector<std::unique_ptr<Connection>> readers;
  for (int i = 0; i < options.read_connections; ++i) {
    KW_ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> reader,
                        PgConnection::Open(params));
    readers.push_back(std::move(reader));
  }
  return std::unique_ptr<PostgresStore>(new PostgresStore(
      std::move(writer), std::move(readers), options.max_group_commit));
}

PostgresStore::PostgresStore(std::unique_ptr<Connection> writer,
                             std::vector<std::unique_ptr<Connection>> readers,
                             int max_group_commit)
    : SqlStore(std::move(writer), std::move(readers), max_group_commit) {}

PostgresStore::~PostgresStore() = default;

absl::Status PostgresStore::BeginWrite(Connection& db) {
  // Held until COMMIT or ROLLBACK: one writer at a time across every node,
  // each seeing every earlier commit (READ COMMITTED takes a new snapshot
  // per statement, after the lock is granted).
  static const std::string kBegin = absl::StrCat(
      "BEGIN; SELECT pg_advisory_xact_lock(", kLockClass, ", ", kWriteLock,
      ")");
  return db.Exec(kBegin);
}

}  // namespace keywarden::store
