#ifndef KEYWARDEN_STORE_SQLITE_SQLITE_CONNECTION_H_
#define KEYWARDEN_STORE_SQLITE_SQLITE_CONNECTION_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "keywarden/store/sql/sql_connection.h"

struct sqlite3;
struct sqlite3_stmt;

namespace keywarden::store::sqlite_internal {

// Maps an SQLite result code to a Status: busy/locked/I-O/full errors are
// Unavailable (retrying later may help), constraint violations are
// AlreadyExists when `constraint_is_duplicate`, everything else Internal.
// The message carries SQLite's error text, which never contains bound
// values (so no key material or names leak into logs).
absl::Status SqliteError(sqlite3* db, int rc, std::string_view what,
                         bool constraint_is_duplicate = false);

// SqliteConnection owns one sqlite3 handle and its cache of prepared
// statements. Not thread-safe: the owner (SqliteStore) lets one thread use
// it at a time.
class SqliteConnection final : public sql_internal::Connection {
 public:
  // Opens `path` (creating it unless `read_only`) and applies the per-
  // connection settings: busy timeout, foreign keys, synchronous=FULL, and
  // the kw_crn_match function.
  static absl::StatusOr<std::unique_ptr<SqliteConnection>> Open(
      const std::string& path, bool read_only, absl::Duration busy_timeout);

  ~SqliteConnection() override;
  SqliteConnection(const SqliteConnection&) = delete;
  SqliteConnection& operator=(const SqliteConnection&) = delete;

  sql_internal::Dialect dialect() const override {
    return sql_internal::Dialect::kSqlite;
  }
  absl::Status Exec(std::string_view sql) override;
  // Statements are cached by their text; the cache is bounded because list
  // queries are built from filter and sort combinations.
  absl::StatusOr<sql_internal::Statement> Prepare(
      std::string_view sql) override;
  int64_t Changes() const override;
  bool InTransaction() const override;

  // The single value of `sql` (e.g. a PRAGMA) as text.
  absl::StatusOr<std::string> QueryText(std::string_view sql);

  sqlite3* raw() const { return db_; }

 private:
  class CachedStatement;
  explicit SqliteConnection(sqlite3* db);

  static constexpr size_t kMaxCachedStatements = 128;

  sqlite3* db_;
  absl::flat_hash_map<std::string, std::unique_ptr<CachedStatement>> cache_;
};

}  // namespace keywarden::store::sqlite_internal

#endif  // KEYWARDEN_STORE_SQLITE_SQLITE_CONNECTION_H_
