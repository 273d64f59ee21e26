#ifndef KEYWARDEN_STORE_POSTGRES_PG_CONNECTION_H_
#define KEYWARDEN_STORE_POSTGRES_PG_CONNECTION_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "keywarden/store/sql/sql_connection.h"

typedef struct pg_conn PGconn;
typedef struct pg_result PGresult;

namespace keywarden::store::postgres_internal {

// What libpq needs to open a session.
struct ConnectParams {
  // A libpq connection URI (postgresql://user[:password]@host:port/db?...).
  // libpq also reads PGPASSFILE (or ~/.pgpass) when it has no password.
  std::string url;
  // Used when not empty: a password that neither the URL nor the password
  // file gives (e.g. read from --database-password-file).
  std::string password;
  // When not empty, the session's search_path: the schema every table
  // lives in. Only [a-z0-9_], checked by PostgresStore::Open.
  std::string schema;
  absl::Duration connect_timeout = absl::Seconds(10);
};

// Rewrites `?` and `?N` placeholders (the SQL store's, SQLite's syntax) to
// PostgreSQL's `$N`, leaving quoted literals and identifiers alone. Sets
// `params` to the number of parameters the statement takes.
std::string TranslatePlaceholders(std::string_view sql, int& params);

// PgConnection is one libpq session. Strings are bound in binary format
// with their type left to the server, which takes it from the column
// (every string column is bytea, so any byte goes through unchanged);
// integers are bound as text; results come back in binary format and are
// read by their column type. A session the server dropped is reset, and a
// statement that failed with it outside a transaction (a read, BEGIN) is
// sent once more; inside a transaction the failure is returned (the
// transaction is gone).
//
// Errors carry the SQLSTATE and PostgreSQL's primary message only (never
// its DETAIL, which may quote row values): Unavailable for a lost
// connection, an overloaded or shutting-down server, a full disk, a
// deadlock or a serialization failure (retrying later may help); a unique
// violation is AlreadyExists when the statement says so; everything else
// is Internal.
//
// Not thread-safe: the owner (PostgresStore) lets one thread use it at a
// time.
class PgConnection final : public sql_internal::Connection {
 public:
  static absl::StatusOr<std::unique_ptr<PgConnection>> Open(
      const ConnectParams& params);

  ~PgConnection() override;
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  sql_internal::Dialect dialect() const override {
    return sql_internal::Dialect::kPostgres;
  }
  absl::Status Exec(std::string_view sql) override;
  absl::StatusOr<sql_internal::Statement> Prepare(
      std::string_view sql) override;
  int64_t Changes() const override { return changes_; }
  bool InTransaction() const override;

  // The value of a server setting (SHOW name), for checks at open.
  absl::StatusOr<std::string> Setting(std::string_view name);

  // For a session that LISTENs: waits up to `timeout` for the server to
  // send something, then hands every notification received (on this wait
  // or during an earlier statement) to `on_notice`, oldest first, by its
  // payload. Unavailable when the session is lost (its LISTEN with it).
  absl::Status AwaitNotices(
      absl::Duration timeout,
      absl::FunctionRef<void(std::string_view payload)> on_notice);
  // The server process of this session; it changes when a lost session is
  // reopened (which forgets its LISTEN).
  int BackendPid() const;

 private:
  class PgStatement;
  explicit PgConnection(PGconn* conn);

  // Resets a broken session if no transaction is open; Unavailable if the
  // server cannot be reached.
  absl::Status EnsureConnected();

  static constexpr size_t kMaxCachedStatements = 128;

  PGconn* conn_;
  // Run on every new session (the search_path), empty if nothing.
  std::string session_setup_;
  int64_t changes_ = 0;
  absl::flat_hash_map<std::string, std::unique_ptr<PgStatement>> cache_;
};

}  // namespace keywarden::store::postgres_internal

#endif  // KEYWARDEN_STORE_POSTGRES_PG_CONNECTION_H_
