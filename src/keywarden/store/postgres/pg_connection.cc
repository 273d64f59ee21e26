#include "keywarden/store/postgres/pg_connection.h"

#include <libpq-fe.h>
#include <poll.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace keywarden::store::postgres_internal {

namespace {

// Type OIDs of the columns the store reads (PostgreSQL's pg_type.dat; they
// are fixed for built-in types).
constexpr Oid kBoolOid = 16;
constexpr Oid kInt8Oid = 20;
constexpr Oid kInt2Oid = 21;
constexpr Oid kInt4Oid = 23;

// SQLSTATE classes and codes that mean "try again later" rather than "this
// request is wrong" (PostgreSQL's errcodes.txt).
bool IsTransient(std::string_view sqlstate) {
  return sqlstate.starts_with("08") ||   // connection exception
         sqlstate.starts_with("53") ||   // insufficient resources (disk full)
         sqlstate.starts_with("57") ||   // operator intervention (shutdown)
         sqlstate == "40001" ||          // serialization failure
         sqlstate == "40P01" ||          // deadlock detected
         sqlstate == "55P03";            // lock not available
}

// The error of `result` (or of the session when there is no result) as a
// Status. Only the SQLSTATE and the primary message are kept: DETAIL may
// quote row values. Data exceptions (class 22) may quote a bound value in
// the primary message too, so for them the message is left out.
absl::Status PgError(PGconn* conn, const PGresult* result,
                     const char* what, bool constraint_is_duplicate) {
  if (result == nullptr || PQstatus(conn) == CONNECTION_BAD) {
    std::string message(absl::StripAsciiWhitespace(PQerrorMessage(conn)));
    return absl::UnavailableError(
        absl::StrCat("postgres: ", what, ": ", message));
  }
  const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
  const std::string sqlstate = state != nullptr ? state : "";
  const char* primary = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
  std::string message = sqlstate.starts_with("22")
                            ? std::string("invalid data")
                            : std::string(primary != nullptr ? primary : "");
  if (message.empty()) {
    message = std::string(absl::StripAsciiWhitespace(PQresultErrorMessage(result)));
  }
  std::string text = absl::StrCat("postgres: ", what, ": ", message,
                                  " (SQLSTATE ", sqlstate, ")");
  if (sqlstate == "23505" && constraint_is_duplicate) {
    return absl::AlreadyExistsError(text);
  }
  if (IsTransient(sqlstate)) return absl::UnavailableError(text);
  return absl::InternalError(text);
}

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

int64_t ReadBigEndian(const char* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  // Sign-extend values narrower than 64 bits.
  if (n < 8 && n > 0 && (static_cast<uint8_t>(p[0]) & 0x80) != 0) {
    v |= ~uint64_t{0} << (8 * n);
  }
  return static_cast<int64_t>(v);
}

}  // namespace

std::string TranslatePlaceholders(std::string_view sql, int& params) {
  std::string out;
  out.reserve(sql.size() + 16);
  params = 0;
  int next = 0;
  char quote = 0;  // inside '...' or "..." when set
  for (size_t i = 0; i < sql.size(); ++i) {
    const char c = sql[i];
    if (quote != 0) {
      out.push_back(c);
      if (c == quote) quote = 0;  // a doubled quote reopens at once
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
      out.push_back(c);
      continue;
    }
    if (c != '?') {
      out.push_back(c);
      continue;
    }
    size_t j = i + 1;
    int number = 0;
    while (j < sql.size() && sql[j] >= '0' && sql[j] <= '9' && number < 10000) {
      number = number * 10 + (sql[j] - '0');
      ++j;
    }
    if (j == i + 1) number = ++next;  // a bare `?` takes the next number
    absl::StrAppend(&out, "$", number);
    if (number > params) params = number;
    i = j - 1;
  }
  return out;
}

// One statement text of a PgConnection, run with PQexecParams each time it
// is stepped first (the unnamed statement: no server-side state to lose
// when a session is reset).
class PgConnection::PgStatement final : public sql_internal::StatementImpl {
 public:
  PgStatement(PgConnection* owner, std::string sql, int params)
      : owner_(owner),
        sql_(std::move(sql)),
        values_(params),
        formats_(params, 0) {}

  void BindText(int index, std::string_view value) override {
    Set(index, std::string(value), /*binary=*/true);
  }
  void BindBlob(int index, std::span<const uint8_t> value) override {
    Set(index,
        std::string(reinterpret_cast<const char*>(value.data()), value.size()),
        /*binary=*/true);
  }
  void BindInt64(int index, int64_t value) override {
    Set(index, absl::StrCat(value), /*binary=*/false);
  }
  void BindNull(int index) override {
    if (index >= 1 && index <= static_cast<int>(values_.size())) {
      values_[index - 1].reset();
      formats_[index - 1] = 0;
    }
  }

  absl::StatusOr<bool> Step(bool constraint_is_duplicate) override {
    if (!result_) {
      if (absl::Status s = owner_->EnsureConnected(); !s.ok()) return s;
      // A statement outside a transaction (a read, or none that changes
      // anything) is sent again once on a fresh session if the server
      // dropped the old one (a restart, a failover, pg_terminate_backend).
      const bool in_transaction = owner_->InTransaction();
      ExecStatusType status = Execute();
      if (status == PGRES_FATAL_ERROR && !in_transaction &&
          PQstatus(owner_->conn_) == CONNECTION_BAD &&
          owner_->EnsureConnected().ok()) {
        status = Execute();
      }
      if (status == PGRES_COMMAND_OK) {
        int64_t changed = 0;
        (void)absl::SimpleAtoi(PQcmdTuples(result_.get()), &changed);
        owner_->changes_ = changed;
        rows_ = 0;
      } else if (status == PGRES_TUPLES_OK) {
        rows_ = PQntuples(result_.get());
      } else {
        absl::Status s = PgError(owner_->conn_, result_.get(), "statement",
                                 constraint_is_duplicate);
        result_.reset();
        return s;
      }
      row_ = -1;
    }
    if (row_ < rows_) ++row_;
    return row_ < rows_;
  }

  bool IsNull(int column) const override {
    return PQgetisnull(result_.get(), row_, column) != 0;
  }
  int64_t Int64(int column) const override {
    if (IsNull(column)) return 0;
    const char* p = PQgetvalue(result_.get(), row_, column);
    const int n = PQgetlength(result_.get(), row_, column);
    switch (PQftype(result_.get(), column)) {
      case kInt8Oid:
      case kInt4Oid:
      case kInt2Oid:
      case kBoolOid:
        return ReadBigEndian(p, n);
      default:
        return 0;  // not an integer column: a bug in the store's SQL
    }
  }
  std::string Text(int column) const override {
    if (IsNull(column)) return std::string();
    return std::string(PQgetvalue(result_.get(), row_, column),
                       PQgetlength(result_.get(), row_, column));
  }
  std::vector<uint8_t> Blob(int column) const override {
    if (IsNull(column)) return {};
    const auto* p = reinterpret_cast<const uint8_t*>(
        PQgetvalue(result_.get(), row_, column));
    return std::vector<uint8_t>(p, p + PQgetlength(result_.get(), row_, column));
  }
  void Reset() override {
    result_.reset();
    rows_ = 0;
    row_ = -1;
    for (auto& v : values_) v.reset();
    std::fill(formats_.begin(), formats_.end(), 0);
  }

 private:
  ExecStatusType Execute() {
    const int n = static_cast<int>(values_.size());
    std::vector<const char*> values(n);
    std::vector<int> lengths(n);
    for (int i = 0; i < n; ++i) {
      values[i] = values_[i].has_value() ? values_[i]->data() : nullptr;
      lengths[i] =
          values_[i].has_value() ? static_cast<int>(values_[i]->size()) : 0;
    }
    result_.reset(PQexecParams(owner_->conn_, sql_.c_str(), n,
                               /*paramTypes=*/nullptr, values.data(),
                               lengths.data(), formats_.data(),
                               /*resultFormat=*/1));
    return result_ ? PQresultStatus(result_.get()) : PGRES_FATAL_ERROR;
  }

  void Set(int index, std::string value, bool binary) {
    // An index outside the statement's parameters is a bug in the store's
    // SQL; PQexecParams then reports the missing value.
    if (index < 1 || index > static_cast<int>(values_.size())) return;
    values_[index - 1] = std::move(value);
    formats_[index - 1] = binary ? 1 : 0;
  }

  PgConnection* owner_;
  const std::string sql_;
  std::vector<std::optional<std::string>> values_;
  std::vector<int> formats_;
  Result result_;
  int rows_ = 0;
  int row_ = -1;
};

PgConnection::PgConnection(PGconn* conn) : conn_(conn) {}

PgConnection::~PgConnection() {
  cache_.clear();
  PQfinish(conn_);
}

absl::StatusOr<std::unique_ptr<PgConnection>> PgConnection::Open(
    const ConnectParams& params) {
  std::vector<const char*> keys;
  std::vector<const char*> values;
  // With expand_dbname, libpq parses the URI given as dbname; later
  // keywords override what it sets.
  keys.push_back("dbname");
  values.push_back(params.url.c_str());
  const std::string timeout =
      absl::StrCat(std::max<int64_t>(1, absl::ToInt64Seconds(
                                            params.connect_timeout)));
  keys.push_back("connect_timeout");
  values.push_back(timeout.c_str());
  keys.push_back("application_name");
  values.push_back("keywarden");
  if (!params.password.empty()) {
    keys.push_back("password");
    values.push_back(params.password.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  PGconn* conn = PQconnectdbParams(keys.data(), values.data(),
                                   /*expand_dbname=*/1);
  if (conn == nullptr) {
    return absl::ResourceExhaustedError("postgres: out of memory");
  }
  if (PQstatus(conn) != CONNECTION_OK) {
    // libpq's message names the host and user, never the password.
    std::string message(absl::StripAsciiWhitespace(PQerrorMessage(conn)));
    PQfinish(conn);
    return absl::UnavailableError(
        absl::StrCat("postgres: cannot connect: ", message));
  }
  // Notices (e.g. "schema already exists, skipping") are not errors; libpq
  // would print them on stderr.
  PQsetNoticeProcessor(conn, [](void*, const char*) {}, nullptr);
  std::unique_ptr<PgConnection> out(new PgConnection(conn));
  // Set per session (not as a connection option, which would replace the
  // URL's own `options`), and again after every reset.
  if (!params.schema.empty()) {
    out->session_setup_ = absl::StrCat("SET search_path = ", params.schema);
    if (absl::Status s = out->Exec(out->session_setup_); !s.ok()) return s;
  }
  return out;
}

absl::Status PgConnection::EnsureConnected() {
  if (PQstatus(conn_) == CONNECTION_OK) return absl::OkStatus();
  if (InTransaction()) {
    return absl::UnavailableError("postgres: connection lost in a transaction");
  }
  PQreset(conn_);
  if (PQstatus(conn_) != CONNECTION_OK) {
    std::string message(absl::StripAsciiWhitespace(PQerrorMessage(conn_)));
    return absl::UnavailableError(
        absl::StrCat("postgres: cannot reconnect: ", message));
  }
  if (!session_setup_.empty()) {
    Result result(PQexec(conn_, session_setup_.c_str()));
    if (!result || PQresultStatus(result.get()) != PGRES_COMMAND_OK) {
      return PgError(conn_, result.get(), "session setup", false);
    }
  }
  return absl::OkStatus();
}

absl::Status PgConnection::Exec(std::string_view sql) {
  if (absl::Status s = EnsureConnected(); !s.ok()) return s;
  const std::string text(sql);
  // As in PgStatement::Step: sent again once on a fresh session when the
  // server dropped the old one outside a transaction (e.g. at BEGIN).
  const bool in_transaction = InTransaction();
  Result result(PQexec(conn_, text.c_str()));
  ExecStatusType status =
      result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
  if (status == PGRES_FATAL_ERROR && !in_transaction &&
      PQstatus(conn_) == CONNECTION_BAD && EnsureConnected().ok()) {
    result.reset(PQexec(conn_, text.c_str()));
    status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
  }
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    return PgError(conn_, result.get(), "exec", false);
  }
  return absl::OkStatus();
}

absl::StatusOr<sql_internal::Statement> PgConnection::Prepare(
    std::string_view sql) {
  auto it = cache_.find(std::string(sql));
  if (it == cache_.end()) {
    // Bounded as SQLite's cache is; no statement is borrowed here.
    if (cache_.size() >= kMaxCachedStatements) cache_.clear();
    int params = 0;
    std::string translated = TranslatePlaceholders(sql, params);
    it = cache_
             .emplace(std::string(sql), std::make_unique<PgStatement>(
                                            this, std::move(translated), params))
             .first;
  }
  return sql_internal::Statement(it->second.get());
}

bool PgConnection::InTransaction() const {
  const PGTransactionStatusType t = PQtransactionStatus(conn_);
  return t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
}

absl::StatusOr<std::string> PgConnection::Setting(std::string_view name) {
  if (absl::Status s = EnsureConnected(); !s.ok()) return s;
  const std::string name_str(name);
  const char* values[] = {name_str.c_str()};
  Result result(PQexecParams(conn_, "SELECT current_setting($1)", 1, nullptr,
                             values, nullptr, nullptr, /*resultFormat=*/0));
  if (!result || PQresultStatus(result.get()) != PGRES_TUPLES_OK ||
      PQntuples(result.get()) != 1) {
    return PgError(conn_, result.get(), "setting", false);
  }
  return std::string(PQgetvalue(result.get(), 0, 0));
}

absl::Status PgConnection::AwaitNotices(
    absl::Duration timeout,
    absl::FunctionRef<void(std::string_view payload)> on_notice) {
  auto drain = [&] {
    while (PGnotify* n = PQnotifies(conn_)) {
      on_notice(n->extra == nullptr ? std::string_view() : n->extra);
      PQfreemem(n);
    }
  };
  drain();  // what arrived with an earlier statement's result
  const int fd = PQsocket(conn_);
  if (PQstatus(conn_) != CONNECTION_OK || fd < 0) {
    return absl::UnavailableError("postgres: notification session lost");
  }
  pollfd p = {fd, POLLIN, 0};
  const int ms = static_cast<int>(
      std::max<int64_t>(0, absl::ToInt64Milliseconds(timeout)));
  const int ready = ::poll(&p, 1, ms);
  if (ready < 0 && errno != EINTR) {
    return absl::UnavailableError("postgres: poll on the session failed");
  }
  if (ready > 0 && (PQconsumeInput(conn_) == 0 ||
                    PQstatus(conn_) != CONNECTION_OK)) {
    return absl::UnavailableError("postgres: notification session lost");
  }
  drain();
  return absl::OkStatus();
}

int PgConnection::BackendPid() const { return PQbackendPID(conn_); }

}  // namespace keywarden::store::postgres_internal
