#include "keywarden/store/sqlite/sqlite_connection.h"

#include <sqlite3.h>

#include <memory>
#include <span>
#include <string>
#include <vector>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "keywarden/keys/registration.h"

namespace keywarden::store::sqlite_internal {

namespace {

std::string_view TextArg(sqlite3_value* v) {
  const unsigned char* p = sqlite3_value_text(v);
  if (p == nullptr) return {};
  return std::string_view(reinterpret_cast<const char*>(p),
                          static_cast<size_t>(sqlite3_value_bytes(v)));
}

// kw_crn_match(pattern, crn): keys::CrnPattern::Matches, so SQL and the
// memory store share one implementation of the CRN query (keyprotect-api.md
// §11). The parsed pattern is cached per statement execution as SQLite's
// auxiliary data of the (constant) first argument. A NULL argument gives
// NULL, as SQL functions do; a pattern that does not parse is an error
// (the store only binds patterns that CrnPattern::Parse accepted).
void CrnMatchFunction(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  if (argc != 2 || sqlite3_value_type(argv[0]) == SQLITE_NULL ||
      sqlite3_value_type(argv[1]) == SQLITE_NULL) {
    sqlite3_result_null(ctx);
    return;
  }
  const std::string_view crn = TextArg(argv[1]);
  if (const auto* cached =
          static_cast<const keys::CrnPattern*>(sqlite3_get_auxdata(ctx, 0));
      cached != nullptr) {
    sqlite3_result_int(ctx, cached->Matches(crn) ? 1 : 0);
    return;
  }
  absl::StatusOr<keys::CrnPattern> parsed =
      keys::CrnPattern::Parse(TextArg(argv[0]), /*for_all_keys=*/false);
  if (!parsed.ok()) {
    sqlite3_result_error(ctx, "kw_crn_match: malformed CRN pattern", -1);
    return;
  }
  auto owned = std::make_unique<keys::CrnPattern>(*std::move(parsed));
  sqlite3_result_int(ctx, owned->Matches(crn) ? 1 : 0);
  // Last: SQLite may run the destructor before set_auxdata returns.
  sqlite3_set_auxdata(ctx, 0, owned.release(), [](void* p) {
    delete static_cast<keys::CrnPattern*>(p);
  });
}

absl::Status RegisterFunctions(sqlite3* db) {
  int rc = sqlite3_create_function_v2(
      db, "kw_crn_match", 2,
      SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, nullptr,
      &CrnMatchFunction, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return SqliteError(db, rc, "create function");
  return absl::OkStatus();
}

}  // namespace

absl::Status SqliteError(sqlite3* db, int rc, std::string_view what,
                         bool constraint_is_duplicate) {
  const char* detail = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  std::string msg = absl::StrCat("sqlite: ", std::string(what), ": ", detail,
                                 " (code ", rc, ")");
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_PROTOCOL:
    case SQLITE_READONLY:
      return absl::UnavailableError(msg);
    case SQLITE_CONSTRAINT:
      if (constraint_is_duplicate && (rc == SQLITE_CONSTRAINT_PRIMARYKEY ||
                                      rc == SQLITE_CONSTRAINT_UNIQUE)) {
        return absl::AlreadyExistsError(msg);
      }
      return absl::InternalError(msg);
    default:
      return absl::InternalError(msg);
  }
}

// A prepared statement cached by its connection. Reset() returns it to the
// cache's idle state (reset, bindings cleared).
class SqliteConnection::CachedStatement final
    : public sql_internal::StatementImpl {
 public:
  CachedStatement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~CachedStatement() override { sqlite3_finalize(stmt_); }

  void BindText(int index, std::string_view value) override {
    sqlite3_bind_text64(stmt_, index, value.data(), value.size(),
                        SQLITE_TRANSIENT, SQLITE_UTF8);
  }
  void BindBlob(int index, std::span<const uint8_t> value) override {
    // A zero-length blob must still be a BLOB, not NULL (data() may be
    // null).
    static const uint8_t kEmpty = 0;
    sqlite3_bind_blob64(stmt_, index, value.empty() ? &kEmpty : value.data(),
                        value.size(), SQLITE_TRANSIENT);
  }
  void BindInt64(int index, int64_t value) override {
    sqlite3_bind_int64(stmt_, index, value);
  }
  void BindNull(int index) override { sqlite3_bind_null(stmt_, index); }

  absl::StatusOr<bool> Step(bool constraint_is_duplicate) override {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return SqliteError(db_, sqlite3_extended_errcode(db_), "step",
                       constraint_is_duplicate);
  }
  bool IsNull(int column) const override {
    return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
  }
  int64_t Int64(int column) const override {
    return sqlite3_column_int64(stmt_, column);
  }
  std::string Text(int column) const override {
    const unsigned char* p = sqlite3_column_text(stmt_, column);
    int n = sqlite3_column_bytes(stmt_, column);
    if (p == nullptr) return std::string();
    return std::string(reinterpret_cast<const char*>(p),
                       static_cast<size_t>(n));
  }
  std::vector<uint8_t> Blob(int column) const override {
    const auto* p =
        static_cast<const uint8_t*>(sqlite3_column_blob(stmt_, column));
    int n = sqlite3_column_bytes(stmt_, column);
    if (p == nullptr) return {};
    return std::vector<uint8_t>(p, p + n);
  }
  void Reset() override {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

absl::StatusOr<std::unique_ptr<SqliteConnection>> SqliteConnection::Open(
    const std::string& path, bool read_only, absl::Duration busy_timeout) {
  // NOMUTEX: SQLite's own per-connection mutex is redundant, the store
  // never shares a connection between threads at the same time.
  int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
  flags |= read_only ? SQLITE_OPEN_READONLY
                     : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    absl::Status s = SqliteError(db, rc, "open");
    sqlite3_close_v2(db);
    return s;
  }
  std::unique_ptr<SqliteConnection> conn(new SqliteConnection(db));
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(
      db, static_cast<int>(absl::ToInt64Milliseconds(busy_timeout)));
  // Per-connection settings; journal_mode=WAL is persistent in the file and
  // is set by the writer (SqliteStore::Open).
  if (absl::Status s = conn->Exec("PRAGMA foreign_keys = ON;"
                                  "PRAGMA synchronous = FULL;");
      !s.ok()) {
    return s;
  }
  if (absl::Status s = RegisterFunctions(db); !s.ok()) return s;
  return conn;
}

SqliteConnection::SqliteConnection(sqlite3* db) : db_(db) {}

SqliteConnection::~SqliteConnection() {
  cache_.clear();  // finalizes every statement before the handle closes
  sqlite3_close_v2(db_);
}

absl::Status SqliteConnection::Exec(std::string_view sql) {
  std::string text(sql);  // sqlite3_exec needs a terminator
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) {
    return SqliteError(db_, sqlite3_extended_errcode(db_), "exec");
  }
  return absl::OkStatus();
}

absl::StatusOr<sql_internal::Statement> SqliteConnection::Prepare(
    std::string_view sql) {
  auto it = cache_.find(std::string(sql));
  if (it == cache_.end()) {
    if (cache_.size() >= kMaxCachedStatements) {
      // Rare (only many distinct list shapes get here); starting over is
      // simpler than LRU and costs only re-preparation. No statement is
      // borrowed at this point: callers hold at most one at a time when
      // they prepare.
      cache_.clear();
    }
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) {
      sqlite3_finalize(stmt);
      return SqliteError(db_, rc, "prepare");
    }
    it = cache_
             .emplace(std::string(sql),
                      std::make_unique<CachedStatement>(db_, stmt))
             .first;
  }
  return sql_internal::Statement(it->second.get());
}

absl::StatusOr<std::string> SqliteConnection::QueryText(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()),
                              &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return SqliteError(db_, rc, "prepare");
  }
  // Not cached: finalized when `once` goes out of scope.
  CachedStatement once(db_, stmt);
  absl::StatusOr<bool> row = once.Step(/*constraint_is_duplicate=*/false);
  if (!row.ok()) return row.status();
  return *row ? once.Text(0) : std::string();
}

int64_t SqliteConnection::Changes() const { return sqlite3_changes64(db_); }

bool SqliteConnection::InTransaction() const {
  return sqlite3_get_autocommit(db_) == 0;
}

}  // namespace keywarden::store::sqlite_internal
