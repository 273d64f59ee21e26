#ifndef KEYWARDEN_STORE_SQL_SQL_CONNECTION_H_
#define KEYWARDEN_STORE_SQL_SQL_CONNECTION_H_

// The database connection that SqlStore (sql_store.h) runs its statements
// on: a small interface with one implementation per dialect (SQLite in
// store/sqlite, PostgreSQL in store/postgres). The store's SQL is written
// once, with `?` (or `?N`) placeholders; a dialect's connection translates
// what it must (PostgreSQL's `$N`), and the few statements whose text
// differs ask dialect().

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace keywarden::store::sql_internal {

enum class Dialect { kSqlite, kPostgres };

// One prepared statement of a Connection, owned by it (usually cached by
// its text). Bindings and results live here until Reset.
class StatementImpl {
 public:
  virtual ~StatementImpl() = default;
  virtual void BindText(int index, std::string_view value) = 0;
  virtual void BindBlob(int index, std::span<const uint8_t> value) = 0;
  virtual void BindInt64(int index, int64_t value) = 0;
  virtual void BindNull(int index) = 0;
  // Runs the statement on the first call and moves to the next row: true
  // if a row is available, false when done. A unique or primary-key
  // violation is AlreadyExists when `constraint_is_duplicate`.
  virtual absl::StatusOr<bool> Step(bool constraint_is_duplicate) = 0;
  virtual bool IsNull(int column) const = 0;
  virtual int64_t Int64(int column) const = 0;
  // Text and blob columns are bytes: whatever was bound comes back.
  virtual std::string Text(int column) const = 0;
  virtual std::vector<uint8_t> Blob(int column) const = 0;
  // Clears bindings and results, ready for the next borrower.
  virtual void Reset() = 0;
};

// A borrowed statement. On destruction it is reset and its bindings
// cleared. Binding indexes are 1-based, column indexes 0-based. Move-only;
// must not outlive its Connection, and a connection lends one statement at
// a time (borrow, use, drop; then the next).
class Statement {
 public:
  explicit Statement(StatementImpl* impl) : impl_(impl) {}
  Statement(Statement&& other) noexcept
      : impl_(std::exchange(other.impl_, nullptr)),
        constraint_is_duplicate_(other.constraint_is_duplicate_) {}
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;
  ~Statement() {
    if (impl_ != nullptr) impl_->Reset();
  }

  void BindText(int index, std::string_view value) {
    impl_->BindText(index, value);
  }
  void BindBlob(int index, std::span<const uint8_t> value) {
    impl_->BindBlob(index, value);
  }
  void BindInt64(int index, int64_t value) { impl_->BindInt64(index, value); }
  void BindBool(int index, bool value) { BindInt64(index, value ? 1 : 0); }
  // Times are stored as microseconds since the Unix epoch (UTC).
  void BindTime(int index, absl::Time value) {
    BindInt64(index, absl::ToUnixMicros(value));
  }
  void BindOptionalTime(int index, const std::optional<absl::Time>& value) {
    if (value.has_value()) {
      BindTime(index, *value);
    } else {
      BindNull(index);
    }
  }
  void BindNull(int index) { impl_->BindNull(index); }

  absl::StatusOr<bool> Step() { return impl_->Step(constraint_is_duplicate_); }
  // Steps a statement that returns no rows.
  absl::Status Run() {
    absl::StatusOr<bool> row = Step();
    if (!row.ok()) return row.status();
    if (*row) return absl::InternalError("sql: statement returned a row");
    return absl::OkStatus();
  }

  bool IsNull(int column) const { return impl_->IsNull(column); }
  int64_t Int64(int column) const { return impl_->Int64(column); }
  bool Bool(int column) const { return Int64(column) != 0; }
  std::string Text(int column) const { return impl_->Text(column); }
  std::vector<uint8_t> Blob(int column) const { return impl_->Blob(column); }
  absl::Time Time(int column) const {
    return absl::FromUnixMicros(Int64(column));
  }
  std::optional<absl::Time> OptionalTime(int column) const {
    if (IsNull(column)) return std::nullopt;
    return Time(column);
  }

  // Treats a unique/primary-key violation while stepping as AlreadyExists.
  void set_constraint_is_duplicate(bool v) { constraint_is_duplicate_ = v; }

 private:
  StatementImpl* impl_;
  bool constraint_is_duplicate_ = false;
};

// Connection is one database session. Not thread-safe: SqlStore lets one
// thread use it at a time. Error messages carry the database's error text,
// which never contains bound values (so no key material or names leak into
// logs).
class Connection {
 public:
  virtual ~Connection() = default;

  virtual Dialect dialect() const = 0;

  // Runs one or more statements without parameters or results (DDL, BEGIN,
  // COMMIT).
  virtual absl::Status Exec(std::string_view sql) = 0;

  // The prepared form of `sql`, usually cached by its text.
  virtual absl::StatusOr<Statement> Prepare(std::string_view sql) = 0;

  // Number of rows changed by the last INSERT/UPDATE/DELETE.
  virtual int64_t Changes() const = 0;

  // Whether a transaction is open (after BEGIN and before it ended, or was
  // ended by the database itself on an error).
  virtual bool InTransaction() const = 0;
};

}  // namespace keywarden::store::sql_internal

#endif  // KEYWARDEN_STORE_SQL_SQL_CONNECTION_H_
