#ifndef KEYWARDEN_STORE_SQLITE_SQLITE_CONNECTION_H_
#define KEYWARDEN_STORE_SQLITE_SQLITE_CONNECTION_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

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

class Connection;

// A borrowed prepared statement from a Connection's cache. On destruction it
// is reset and its bindings cleared, ready for the next borrower. Binding
// indexes are 1-based (SQLite's), column indexes 0-based. Move-only; must
// not outlive its Connection.
class Statement {
 public:
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;
  ~Statement();

  void BindText(int index, std::string_view value);
  void BindBlob(int index, std::span<const uint8_t> value);
  void BindInt64(int index, int64_t value);
  void BindBool(int index, bool value) { BindInt64(index, value ? 1 : 0); }
  void BindTime(int index, absl::Time value);
  void BindOptionalTime(int index, const std::optional<absl::Time>& value);
  void BindNull(int index);

  // Steps once: true if a row is available, false when done.
  absl::StatusOr<bool> Step();
  // Steps a statement that returns no rows.
  absl::Status Run();

  bool IsNull(int column) const;
  int64_t Int64(int column) const;
  bool Bool(int column) const { return Int64(column) != 0; }
  std::string Text(int column) const;
  std::vector<uint8_t> Blob(int column) const;
  absl::Time Time(int column) const;
  std::optional<absl::Time> OptionalTime(int column) const;

  // Treats a constraint violation while stepping as AlreadyExists.
  void set_constraint_is_duplicate(bool v) { constraint_is_duplicate_ = v; }

 private:
  friend class Connection;
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}

  sqlite3* db_;
  sqlite3_stmt* stmt_;
  bool constraint_is_duplicate_ = false;
};

// Connection owns one sqlite3 handle and its cache of prepared statements.
// Not thread-safe: the owner (SqliteStore) lets one thread use it at a time.
class Connection {
 public:
  // Opens `path` (creating it unless `read_only`) and applies the per-
  // connection settings: busy timeout, foreign keys, synchronous=FULL.
  static absl::StatusOr<std::unique_ptr<Connection>> Open(
      const std::string& path, bool read_only, absl::Duration busy_timeout);

  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs one or more statements without results (DDL, BEGIN, COMMIT).
  absl::Status Exec(std::string_view sql);

  // The cached prepared form of `sql`, prepared on first use. Statements are
  // cached by their text; the cache is bounded because list queries are
  // built from filter and sort combinations.
  absl::StatusOr<Statement> Prepare(std::string_view sql);

  // The single value of `sql` (e.g. a PRAGMA) as text.
  absl::StatusOr<std::string> QueryText(std::string_view sql);

  // Number of rows changed by the last INSERT/UPDATE/DELETE.
  int64_t Changes() const;

  sqlite3* raw() const { return db_; }

 private:
  explicit Connection(sqlite3* db) : db_(db) {}

  static constexpr size_t kMaxCachedStatements = 128;

  sqlite3* db_;
  absl::flat_hash_map<std::string, sqlite3_stmt*> cache_;
};

}  // namespace keywarden::store::sqlite_internal

#endif  // KEYWARDEN_STORE_SQLITE_SQLITE_CONNECTION_H_
