#include "keywarden/store/sql/sql_store.h"

#include <algorithm>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/escaping.h"
#include "keywarden/common/ids.h"
#include "keywarden/common/status_macros.h"
#include "keywarden/keys/registration.h"
#include "keywarden/keys/search.h"
#include "keywarden/store/identity_validation.h"
#include "keywarden/store/migrations/migrations.h"
#include "keywarden/store/sql/sql_connection.h"
#include "keywarden/store/sql/sql_internal.h"
#include "keywarden/store/sql/tags_codec.h"
#include "keywarden/store/validation.h"

namespace keywarden::store {

using sql_internal::AppendAuditRow;
using sql_internal::BuiltQuery;
using sql_internal::Connection;
using sql_internal::Dialect;
using sql_internal::InsertInstance;
using sql_internal::Statement;

namespace {

// Columns read back for a key joined with one of its versions and its two
// policies (kPolicyJoins); ReadKeyRow and ReadVersion depend on this order.
// The key's aliases are one column: a JSON array on SQLite, hex-encoded
// aliases joined by ',' (NULL for none) on PostgreSQL, whose JSON cannot
// hold every byte an alias may have.
const std::string& KeyColumns(Dialect dialect) {
  auto columns = [](const std::string& aliases) {
    return absl::StrCat(
        "k.instance_id, k.id, k.name, k.description, k.tags, k.key_ring_id,"
        " k.extractable, k.imported, k.state, k.material_bits,"
        " k.expiration_time, k.creation_time, k.created_by,"
        " k.last_update_time, k.last_state_change_time, k.last_rotate_time,"
        " k.deletion_time, k.deleted_by, v.version_id, v.creation_time,"
        " v.master_key_id, ",
        aliases,
        ", k.last_sync_time, k.deletion_authorized_by,"
        " k.deletion_authorization_expiration,"
        " pr.id, pr.enabled, pr.interval_months, pr.creation_time,"
        " pr.created_by, pr.last_update_time, pr.updated_by,"
        " pd.id, pd.enabled, pd.creation_time, pd.created_by,"
        " pd.last_update_time, pd.updated_by");
  };
  static const std::string kSqlite = columns(
      "(SELECT json_group_array(alias) FROM (SELECT a.alias FROM key_aliases a"
      "   WHERE a.instance_id = k.instance_id AND a.key_id = k.id"
      "   ORDER BY a.alias))");
  static const std::string kPostgres = columns(
      "(SELECT string_agg(encode(a.alias, 'hex'), ',') FROM key_aliases a"
      "   WHERE a.instance_id = k.instance_id AND a.key_id = k.id)");
  return dialect == Dialect::kSqlite ? kSqlite : kPostgres;
}

absl::StatusOr<std::vector<std::string>> ReadAliases(const Statement& st,
                                                     int column,
                                                     Dialect dialect) {
  if (dialect == Dialect::kSqlite) {
    return sql_internal::DecodeTags(st.Text(column));
  }
  std::vector<std::string> out;
  if (st.IsNull(column)) return out;
  const std::string joined = st.Text(column);
  for (absl::string_view hex : absl::StrSplit(joined, ',')) {
    if (hex.size() % 2 != 0 ||
        hex.find_first_not_of("0123456789abcdef") != absl::string_view::npos) {
      return absl::DataLossError("stored aliases are not hex");
    }
    out.push_back(absl::HexStringToBytes(hex));
  }
  return out;
}

constexpr int kVersionColumn = 18;   // v.version_id
constexpr int kAliasesColumn = 21;   // JSON array of the key's aliases
constexpr int kSyncColumn = 22;      // k.last_sync_time
constexpr int kRotationColumn = 25;  // pr.id, NULL without a rotation policy
constexpr int kDualAuthColumn = 32;  // pd.id, NULL without a dual-auth policy
constexpr int kMaterialColumn = 38;  // v.sealed_material, when selected

// A key's policies, at most one row of each type (the primary key), so the
// joins keep one row per key (or per version in GetKey).
constexpr char kPolicyJoins[] =
    " LEFT JOIN key_policies pr ON pr.instance_id = k.instance_id"
    " AND pr.key_id = k.id AND pr.policy_type = 'rotation'"
    " LEFT JOIN key_policies pd ON pd.instance_id = k.instance_id"
    " AND pd.key_id = k.id AND pd.policy_type = 'dualAuthDelete'";

keys::PolicyMeta ReadPolicyMeta(const Statement& st, int id_column,
                                int times_column) {
  keys::PolicyMeta m;
  m.id = st.Text(id_column);
  m.creation_time = st.Time(times_column);
  m.created_by = st.Text(times_column + 1);
  m.last_update_time = st.Time(times_column + 2);
  m.updated_by = st.Text(times_column + 3);
  return m;
}

absl::StatusOr<keys::Key> ReadKeyRow(const Statement& st, Dialect dialect) {
  keys::Key k;
  k.instance_id = st.Text(0);
  k.id = st.Text(1);
  k.name = st.Text(2);
  k.description = st.Text(3);
  KW_ASSIGN_OR_RETURN(k.tags, sql_internal::DecodeTags(st.Text(4)));
  k.key_ring_id = st.Text(5);
  k.extractable = st.Bool(6);
  k.imported = st.Bool(7);
  std::optional<keys::KeyState> state =
      keys::KeyStateFromInt(static_cast<int>(st.Int64(8)));
  if (!state.has_value()) {
    return absl::DataLossError(
        absl::StrCat("stored key has unknown state code ", st.Int64(8)));
  }
  k.state = *state;
  k.material_bits = static_cast<int>(st.Int64(9));
  k.expiration_time = st.OptionalTime(10);
  k.creation_time = st.Time(11);
  k.created_by = st.Text(12);
  k.last_update_time = st.Time(13);
  k.last_state_change_time = st.Time(14);
  k.last_rotate_time = st.OptionalTime(15);
  k.deletion_time = st.OptionalTime(16);
  k.deleted_by = st.Text(17);
  KW_ASSIGN_OR_RETURN(k.aliases, ReadAliases(st, kAliasesColumn, dialect));
  // Byte order whatever the collation did.
  std::sort(k.aliases.begin(), k.aliases.end());
  k.last_sync_time = st.OptionalTime(kSyncColumn);
  k.deletion_authorized_by = st.Text(kSyncColumn + 1);
  k.deletion_authorization_expiration = st.OptionalTime(kSyncColumn + 2);
  if (!st.IsNull(kRotationColumn)) {
    keys::RotationPolicy p;
    p.meta = ReadPolicyMeta(st, kRotationColumn, kRotationColumn + 3);
    p.enabled = st.Bool(kRotationColumn + 1);
    p.interval_months = static_cast<int>(st.Int64(kRotationColumn + 2));
    k.rotation_policy = std::move(p);
  }
  if (!st.IsNull(kDualAuthColumn)) {
    keys::DualAuthPolicy p;
    p.meta = ReadPolicyMeta(st, kDualAuthColumn, kDualAuthColumn + 2);
    p.enabled = st.Bool(kDualAuthColumn + 1);
    k.dual_auth_policy = std::move(p);
  }
  return k;
}

keys::KeyVersion ReadVersion(const Statement& st, bool with_material) {
  keys::KeyVersion v;
  v.id = st.Text(kVersionColumn);
  v.creation_time = st.Time(kVersionColumn + 1);
  v.master_key_id = st.Text(kVersionColumn + 2);
  if (with_material) v.sealed_material = st.Blob(kMaterialColumn);
  return v;
}

absl::Status InsertPolicy(Connection& db, const keys::Key& key,
                          std::string_view type, const keys::PolicyMeta& meta,
                          bool enabled, std::optional<int> interval_months) {
  KW_ASSIGN_OR_RETURN(
      Statement st,
      db.Prepare("INSERT INTO key_policies (instance_id, key_id, policy_type,"
                 " id, enabled, interval_months, creation_time, created_by,"
                 " last_update_time, updated_by)"
                 " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  st.BindText(1, key.instance_id);
  st.BindText(2, key.id);
  st.BindText(3, type);
  st.BindText(4, meta.id);
  st.BindBool(5, enabled);
  if (interval_months.has_value()) {
    st.BindInt64(6, *interval_months);
  } else {
    st.BindNull(6);
  }
  st.BindTime(7, meta.creation_time);
  st.BindText(8, meta.created_by);
  st.BindTime(9, meta.last_update_time);
  st.BindText(10, meta.updated_by);
  return st.Run();
}

// Makes the stored policies of `key` equal to key.rotation_policy and
// key.dual_auth_policy (absent ones are removed).
absl::Status WritePolicies(Connection& db, const keys::Key& key) {
  {
    KW_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare("DELETE FROM key_policies WHERE instance_id = ?"
                   " AND key_id = ?"));
    st.BindText(1, key.instance_id);
    st.BindText(2, key.id);
    KW_RETURN_IF_ERROR(st.Run());
  }
  if (const auto& p = key.rotation_policy; p.has_value()) {
    KW_RETURN_IF_ERROR(InsertPolicy(db, key, "rotation", p->meta, p->enabled,
                                    p->interval_months));
  }
  if (const auto& p = key.dual_auth_policy; p.has_value()) {
    KW_RETURN_IF_ERROR(InsertPolicy(db, key, "dualAuthDelete", p->meta,
                                    p->enabled, std::nullopt));
  }
  return absl::OkStatus();
}

absl::Status InsertVersion(Connection& db, const keys::Key& key,
                           const keys::KeyVersion& v, int64_t seq) {
  KW_RETURN_IF_ERROR(sql_internal::CheckSealedUnder(db, v.master_key_id));
  KW_ASSIGN_OR_RETURN(
      Statement st,
      db.Prepare("INSERT INTO key_versions (instance_id, key_id, version_id,"
                 " seq, creation_time, master_key_id, sealed_material)"
                 " VALUES (?, ?, ?, ?, ?, ?, ?)"));
  st.BindText(1, key.instance_id);
  st.BindText(2, key.id);
  st.BindText(3, v.id);
  st.BindInt64(4, seq);
  st.BindTime(5, v.creation_time);
  st.BindText(6, v.master_key_id);
  st.BindBlob(7, v.sealed_material);
  return st.Run();
}

absl::Status InsertAlias(Connection& db, const KeyAlias& alias) {
  KW_ASSIGN_OR_RETURN(
      Statement st,
      db.Prepare("INSERT INTO key_aliases (instance_id, alias, key_id,"
                 " creation_time, created_by) VALUES (?, ?, ?, ?, ?)"));
  st.set_constraint_is_duplicate(true);
  st.BindText(1, alias.instance_id);
  st.BindText(2, alias.alias);
  st.BindText(3, alias.key_id);
  st.BindTime(4, alias.creation_time);
  st.BindText(5, alias.created_by);
  absl::Status s = st.Run();
  if (absl::IsAlreadyExists(s)) {
    return absl::AlreadyExistsError("alias already exists");
  }
  return s;
}

absl::StatusOr<int64_t> CountRows(Connection& db, std::string_view sql,
                                  std::string_view a, std::string_view b) {
  KW_ASSIGN_OR_RETURN(Statement st, db.Prepare(sql));
  st.BindText(1, a);
  st.BindText(2, b);
  KW_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return absl::InternalError("sql: COUNT returned no row");
  return st.Int64(0);
}

KeyRing ReadRing(const Statement& st) {
  KeyRing r;
  r.instance_id = st.Text(0);
  r.id = st.Text(1);
  r.creation_time = st.Time(2);
  r.created_by = st.Text(3);
  return r;
}

const char* SortColumn(SortField field) {
  switch (field) {
    case SortField::kId:
      return "k.id";
    case SortField::kState:
      return "k.state";
    case SortField::kExtractable:
      return "k.extractable";
    case SortField::kImported:
      return "k.imported";
    case SortField::kCreationDate:
      return "k.creation_time";
    case SortField::kLastUpdateDate:
      return "k.last_update_time";
    case SortField::kLastRotateDate:
      return "k.last_rotate_time";
    case SortField::kDeletionDate:
      return "k.deletion_time";
    case SortField::kExpirationDate:
      return "k.expiration_time";
  }
  return "k.id";
}

const char* DateColumn(keys::DateField field) {
  switch (field) {
    case keys::DateField::kCreationDate:
      return "k.creation_time";
    case keys::DateField::kDeletionDate:
      return "k.deletion_time";
    case keys::DateField::kExpirationDate:
      return "k.expiration_time";
    case keys::DateField::kLastRotateDate:
      return "k.last_rotate_time";
    case keys::DateField::kLastUpdateDate:
      return "k.last_update_time";
  }
  return "k.creation_time";
}

// keys::ClausesMatch in SQL. A stored date d (µs) is compared at its
// second S = floor(d / 1 s), and S is a whole second, so every comparison
// with the clause's value v becomes one bound on d itself, with F = v
// floored and C = v raised to a whole second:
//   S <  v  <=>  d <  C          S <= v  <=>  d <  F + 1 s
//   S >  v  <=>  d >= F + 1 s    S >= v  <=>  d >= C
//   S == v  <=>  v == F and F <= d < F + 1 s
// No division, so SQLite's truncation toward zero (wrong for dates before
// 1970) never enters, and the column's index stays usable. NULL (an absent
// date) fails every comparison, as ClausesMatch has it.
void AppendTimeClause(const keys::TimeClause& c, BuiltQuery& q) {
  const std::string col = DateColumn(c.field);
  if (!c.value.has_value()) {
    q.sql += " AND " + col + " IS NULL";
    return;
  }
  const absl::Time v = *c.value;
  const absl::Time floor = absl::FromUnixSeconds(absl::ToUnixSeconds(v));
  const absl::Time ceil = floor == v ? floor : floor + absl::Seconds(1);
  const absl::Time next = floor + absl::Seconds(1);
  auto bound = [&](const char* op, absl::Time t) {
    q.sql += absl::StrCat(" AND ", col, " ", op, " ?");
    q.args.emplace_back(absl::ToUnixMicros(t));
  };
  switch (c.op) {
    case keys::CompareOp::kEq:
      if (floor != v) {
        q.sql += " AND 1 = 0";  // a second never equals a fraction of one
      } else {
        bound(">=", floor);
        bound("<", next);
      }
      return;
    case keys::CompareOp::kLt:
      bound("<", ceil);
      return;
    case keys::CompareOp::kLte:
      bound("<", next);
      return;
    case keys::CompareOp::kGt:
      bound(">=", next);
      return;
    case keys::CompareOp::kGte:
      bound(">=", ceil);
      return;
  }
}

// keys::SearchMatches in SQL: names and aliases folded to lower case in
// ASCII letters only, exactly as keys::SearchMatches does, and compared
// byte for byte, whatever their encoding. SQLite's lower() folds ASCII
// only (no ICU is loaded), and a CAST to BLOB compares bytes; PostgreSQL's
// columns are bytea and its kw_ascii_lower (migrations/postgres) folds
// their ASCII letters.
void AppendSearch(const keys::KeySearch& search, Dialect dialect,
                  BuiltQuery& q) {
  const std::string term = absl::AsciiStrToLower(search.term);
  auto match = [&](const char* column) {
    q.args.emplace_back(BuiltQuery::Bytes{term});
    if (dialect == Dialect::kPostgres) {
      return search.exact
                 ? absl::StrCat("kw_ascii_lower(", column, ") = ?")
                 : absl::StrCat("position(? in kw_ascii_lower(", column,
                                ")) > 0");
    }
    return search.exact ? absl::StrCat("CAST(lower(", column, ") AS BLOB) = ?")
                        : absl::StrCat("instr(CAST(lower(", column,
                                       ") AS BLOB), ?) > 0");
  };
  std::vector<std::string> fields;
  if (search.in_name) fields.push_back(match("k.name"));
  if (search.in_aliases) {
    fields.push_back(
        absl::StrCat("EXISTS (SELECT 1 FROM key_aliases a WHERE a.instance_id ="
                     " k.instance_id AND a.key_id = k.id AND ",
                     match("a.alias"), ")"));
  }
  q.sql += absl::StrCat(search.negate ? " AND NOT (" : " AND (",
                        absl::StrJoin(fields, " OR "), ")");
}

// The WHERE clause of `query` over `keys k`.
BuiltQuery KeyWhere(const KeyQuery& query, Dialect dialect) {
  BuiltQuery q;
  q.sql = " WHERE k.instance_id = ?";
  q.args.emplace_back(query.instance_id);
  auto in_list = [&](const char* column, size_t n) {
    q.sql += absl::StrCat(" AND ", column, " IN (");
    for (size_t i = 0; i < n; ++i) q.sql += i == 0 ? "?" : ", ?";
    q.sql += ")";
  };
  if (!query.states.empty()) {
    in_list("k.state", query.states.size());
    for (keys::KeyState s : query.states) {
      q.args.emplace_back(int64_t{static_cast<int>(s)});
    }
  }
  if (query.extractable.has_value()) {
    q.sql += " AND k.extractable = ?";
    q.args.emplace_back(int64_t{*query.extractable ? 1 : 0});
  }
  if (query.key_ring_id.has_value()) {
    q.sql += " AND k.key_ring_id = ?";
    q.args.emplace_back(*query.key_ring_id);
  }
  if (!query.key_ring_ids.empty()) {
    in_list("k.key_ring_id", query.key_ring_ids.size());
    for (const std::string& ring : query.key_ring_ids) {
      q.args.emplace_back(ring);
    }
  }
  for (const keys::TimeClause& c : query.time_clauses) AppendTimeClause(c, q);
  if (query.search.has_value()) AppendSearch(*query.search, dialect, q);
  return q;
}

}  // namespace

namespace sql_internal {

absl::Status Migrate(Connection& db, std::span<const Migration> migrations,
                     std::string_view create_version_table) {
  for (size_t i = 0; i < migrations.size(); ++i) {
    if (migrations[i].version != static_cast<int>(i) + 1) {
      return absl::InternalError(
          "embedded migrations are not numbered 1..N without gaps");
    }
  }
  const int latest = static_cast<int>(migrations.size());
  // The shape of schema_version is frozen forever: it is how every past and
  // future binary tells which schema a database has.
  KW_RETURN_IF_ERROR(db.Exec(create_version_table));
  int64_t current = 0;
  {
    KW_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare("SELECT COALESCE(MAX(version), 0) FROM schema_version"));
    KW_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return absl::InternalError("sql: MAX returned no row");
    current = st.Int64(0);
  }
  if (current > latest) {
    return absl::FailedPreconditionError(
        absl::StrCat("database schema version ", current,
                     " is newer than this keywarden binary supports (", latest,
                     "); run a newer keywarden or restore a backup"));
  }
  for (const Migration& m : migrations) {
    if (m.version <= current) continue;
    KW_RETURN_IF_ERROR(db.Exec(m.sql));
    KW_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare("INSERT INTO schema_version (version, name, applied_time)"
                   " VALUES (?, ?, ?)"));
    st.BindInt64(1, m.version);
    st.BindText(2, m.name);
    st.BindTime(3, absl::Now());
    KW_RETURN_IF_ERROR(st.Run());
  }
  return absl::OkStatus();
}

absl::Status InsertInstance(Connection& db, std::string_view instance_id) {
  KW_ASSIGN_OR_RETURN(Statement st,
                      db.Prepare("INSERT INTO instances (id) VALUES (?)"
                                 " ON CONFLICT (id) DO NOTHING"));
  st.BindText(1, instance_id);
  return st.Run();
}

}  // namespace sql_internal

SqlStore::SqlStore(std::unique_ptr<Connection> writer,
                   std::vector<std::unique_ptr<Connection>> readers,
                   int max_group_commit)
    : max_group_commit_(max_group_commit),
      dialect_(writer->dialect()),
      writer_(std::move(writer)),
      readers_(std::move(readers)) {
  for (auto& r : readers_) idle_readers_.push_back(r.get());
}

SqlStore::~SqlStore() {
  CloseReaders();
  absl::MutexLock lock(&write_mu_);
  writer_.reset();
}

void SqlStore::CloseReaders() {
  absl::MutexLock lock(&pool_mu_);
  idle_readers_.clear();
  readers_.clear();
}

void SqlStore::WithWriter(absl::FunctionRef<void(Connection&)> body) {
  absl::MutexLock lock(&write_mu_);
  body(*writer_);
}

struct SqlStore::PendingWrite {
  PendingWrite(absl::FunctionRef<absl::Status(Connection&)> b,
               std::optional<Change> c)
      : body(b), change(std::move(c)) {}
  absl::FunctionRef<absl::Status(Connection&)> body;
  std::optional<Change> change;
  absl::Status result;
  bool done = false;
};

namespace {

absl::Status RunCached(Connection& db, std::string_view sql) {
  KW_ASSIGN_OR_RETURN(Statement st, db.Prepare(sql));
  return st.Run();
}

}  // namespace

absl::Status SqlStore::WriteTransaction(
    absl::FunctionRef<absl::Status(Connection&)> body,
    std::optional<Change> change) {
  PendingWrite self(body, std::move(change));
  absl::MutexLock lock(&queue_mu_);
  queue_.push_back(&self);
  struct Turn {
    PendingWrite* self;
    std::deque<PendingWrite*>* queue;
  } turn{&self, &queue_};
  queue_mu_.Await(absl::Condition(
      +[](Turn* t) { return t->self->done || t->queue->front() == t->self; },
      &turn));
  if (self.done) return self.result;  // a leader committed it for us

  // This thread leads: commit a group from the front (itself first). The
  // group stays queued, so later arrivals wait behind it and form the next.
  const size_t n =
      std::min(queue_.size(), static_cast<size_t>(max_group_commit_));
  std::vector<PendingWrite*> batch(queue_.begin(), queue_.begin() + n);
  queue_mu_.Unlock();
  {
    absl::MutexLock write_lock(&write_mu_);
    CommitGroup(batch);
  }
  queue_mu_.Lock();
  for (size_t i = 0; i < n; ++i) {
    queue_.front()->done = true;
    queue_.pop_front();
  }
  return self.result;
}

void SqlStore::CommitGroup(const std::vector<PendingWrite*>& batch) {
  Connection& db = *writer_;
  if (absl::Status s = BeginWrite(db); !s.ok()) {
    if (db.InTransaction()) db.Exec("ROLLBACK").IgnoreError();
    for (PendingWrite* w : batch) w->result = s;
    return;
  }
  // Set when the transaction as a whole cannot commit; every mutation that
  // had succeeded (or did not run) then reports it.
  absl::Status abort;
  size_t ran = 0;
  for (; ran < batch.size(); ++ran) {
    PendingWrite* w = batch[ran];
    if (abort = RunCached(db, "SAVEPOINT kw_write"); !abort.ok()) break;
    absl::Status s = w->body(db);
    if (!db.InTransaction()) {
      // The database rolled the whole transaction back (SQLite on an I/O
      // error or a full disk, PostgreSQL when the connection broke):
      // nothing of this group is stored.
      abort = s.ok() ? absl::UnavailableError(
                           "sql: transaction rolled back by the database")
                     : s;
      break;
    }
    if (!s.ok()) {
      abort = RunCached(db, "ROLLBACK TO kw_write");
      if (!abort.ok()) break;
    }
    if (abort = RunCached(db, "RELEASE kw_write"); !abort.ok()) break;
    w->result = std::move(s);
  }
  if (abort.ok()) {
    // In the same transaction as the changes: other nodes hear of exactly
    // what committed.
    std::vector<Change> changes;
    for (PendingWrite* w : batch) {
      if (w->result.ok() && w->change.has_value()) changes.push_back(*w->change);
    }
    if (!changes.empty()) abort = PublishChangesLocked(db, changes);
  }
  if (abort.ok()) abort = RunCached(db, "COMMIT");
  if (abort.ok()) {
    commits_.fetch_add(1, std::memory_order_relaxed);
    mutations_.fetch_add(static_cast<int64_t>(batch.size()),
                         std::memory_order_relaxed);
    // E.g. SQLite retries a purge's WAL truncation that a reader blocked,
    // once the group is durable (its callers are woken after this).
    AfterCommitLocked(db);
    return;
  }
  if (db.InTransaction()) {
    // Still inside the transaction (e.g. COMMIT was busy): undo it so the
    // connection is clean for the next group.
    db.Exec("ROLLBACK").IgnoreError();
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    // A mutation that failed on its own keeps its error; it changed nothing.
    if (i >= ran || batch[i]->result.ok()) batch[i]->result = abort;
  }
}

template <typename Body>
auto SqlStore::WithReader(Body&& body) {
  Connection* conn;
  {
    absl::MutexLock lock(&pool_mu_);
    pool_mu_.Await(absl::Condition(
        +[](std::vector<Connection*>* idle) { return !idle->empty(); },
        &idle_readers_));
    conn = idle_readers_.back();
    idle_readers_.pop_back();
  }
  auto result = body(*conn);
  {
    absl::MutexLock lock(&pool_mu_);
    idle_readers_.push_back(conn);
  }
  return result;
}

absl::Status SqlStore::Read(
    absl::FunctionRef<absl::Status(Connection&)> body) {
  return WithReader([&](Connection& db) { return body(db); });
}

absl::Status SqlStore::StartChangeFeed(ChangeFeedOptions options) {
  absl::MutexLock lock(&listener_mu_);
  listener_ = std::move(options.listener);
  on_feed_state_ = std::move(options.on_state);
  return absl::OkStatus();
}

void SqlStore::StopChangeListener() {
  absl::MutexLock lock(&listener_mu_);
  listener_ = nullptr;
  on_feed_state_ = nullptr;
}

void SqlStore::ReportFeedState(const absl::Status& state) {
  absl::MutexLock lock(&listener_mu_);
  if (on_feed_state_) on_feed_state_(state);
}

void SqlStore::OnRemoteChange(const Change& change) {
  if (change.kind == Change::Kind::kAll ||
      change.kind == Change::Kind::kIdentity) {
    absl::MutexLock lock(&instances_mu_);
    known_instances_.clear();
  }
  absl::MutexLock lock(&listener_mu_);
  if (listener_) listener_(change);
}

absl::Status SqlStore::EnsureInstance(std::string_view instance_id) {
  if (instance_id.empty()) {
    return absl::InvalidArgumentError("instance id is empty");
  }
  {
    absl::MutexLock lock(&instances_mu_);
    if (known_instances_.contains(std::string(instance_id))) {
      return absl::OkStatus();
    }
  }
  KW_RETURN_IF_ERROR(WriteTransaction(
      [&](Connection& db) { return InsertInstance(db, instance_id); },
      std::nullopt));
  absl::MutexLock lock(&instances_mu_);
  known_instances_.insert(std::string(instance_id));
  return absl::OkStatus();
}

absl::Status SqlStore::CreateKey(
    const keys::Key& key, const std::optional<iam::AuditRecord>& audit) {
  KW_RETURN_IF_ERROR(ValidateKeyForWrite(key));
  if (audit.has_value()) {
    KW_RETURN_IF_ERROR(ValidateAuditRecord(*audit));
  }
  return WriteTransaction([&](Connection& db) -> absl::Status {
    // A key implies its instance; recording it here keeps CreateKey one
    // transaction even for a caller that skipped EnsureInstance.
    KW_RETURN_IF_ERROR(InsertInstance(db, key.instance_id));
    {
      KW_ASSIGN_OR_RETURN(
          Statement st,
          db.Prepare(
              "INSERT INTO keys (instance_id, id, name, description, tags,"
              " key_ring_id, extractable, imported, state, material_bits,"
              " expiration_time, creation_time, created_by, last_update_time,"
              " last_state_change_time, last_rotate_time, deletion_time,"
              " deleted_by, primary_seq, last_sync_time,"
              " deletion_authorized_by, deletion_authorization_expiration)"
              " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
              " ?, ?, ?, ?)"));
      st.set_constraint_is_duplicate(true);
      st.BindText(1, key.instance_id);
      st.BindText(2, key.id);
      st.BindText(3, key.name);
      st.BindText(4, key.description);
      st.BindText(5, sql_internal::EncodeTags(key.tags));
      st.BindText(6, key.key_ring_id);
      st.BindBool(7, key.extractable);
      st.BindBool(8, key.imported);
      st.BindInt64(9, static_cast<int>(key.state));
      st.BindInt64(10, key.material_bits);
      st.BindOptionalTime(11, key.expiration_time);
      st.BindTime(12, key.creation_time);
      st.BindText(13, key.created_by);
      st.BindTime(14, key.last_update_time);
      st.BindTime(15, key.last_state_change_time);
      st.BindOptionalTime(16, key.last_rotate_time);
      st.BindOptionalTime(17, key.deletion_time);
      st.BindText(18, key.deleted_by);
      st.BindInt64(19, static_cast<int64_t>(key.versions.size()) - 1);
      st.BindOptionalTime(20, key.last_sync_time);
      st.BindText(21, key.deletion_authorized_by);
      st.BindOptionalTime(22, key.deletion_authorization_expiration);
      absl::Status s = st.Run();
      if (absl::IsAlreadyExists(s)) {
        return absl::AlreadyExistsError("key already exists");
      }
      KW_RETURN_IF_ERROR(s);
    }
    for (size_t i = 0; i < key.versions.size(); ++i) {
      KW_RETURN_IF_ERROR(
          InsertVersion(db, key, key.versions[i], static_cast<int64_t>(i)));
    }
    for (const std::string& alias : key.aliases) {
      KW_RETURN_IF_ERROR(InsertAlias(
          db, KeyAlias{key.instance_id, alias, key.id, key.creation_time,
                       key.created_by}));
    }
    KW_RETURN_IF_ERROR(WritePolicies(db, key));
    return audit.has_value() ? AppendAuditRow(db, *audit) : absl::OkStatus();
  },
      Change::Key(key.instance_id, key.id));
}

namespace {

struct RegistrationRef {
  std::string service_id;
  std::string resource_crn;
  bool prevent_key_deletion = false;
};

// The key's registrations, ordered by service then CRN (the event fan-out
// groups them by service).
absl::StatusOr<std::vector<RegistrationRef>> KeyRegistrations(
    Connection& db, std::string_view instance_id, std::string_view key_id) {
  KW_ASSIGN_OR_RETURN(
      Statement st,
      db.Prepare("SELECT service_id, resource_crn, prevent_key_deletion"
                 " FROM registrations WHERE instance_id = ? AND key_id = ?"
                 " ORDER BY service_id, resource_crn"));
  st.BindText(1, instance_id);
  st.BindText(2, key_id);
  std::vector<RegistrationRef> out;
  while (true) {
    KW_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return out;
    out.push_back({st.Text(0), st.Text(1), st.Bool(2)});
  }
}

absl::Status InsertEvent(Connection& db, const keys::Key& key,
                         const keys::EventSpec& spec,
                         std::string_view service_id,
                         const std::vector<std::string>& crns) {
  KW_ASSIGN_OR_RETURN(
      Statement st,
      db.Prepare("INSERT INTO key_events (id, instance_id, key_id,"
                 " service_id, event_type, event_time, key_state,"
                 " key_version_id, previous_key_version_id, resource_crns,"
                 " attempts, next_attempt_time, last_error,"
                 " adopter_key_state)"
                 " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, '', '')"));
  st.BindText(1, NewUuid());
  st.BindText(2, key.instance_id);
  st.BindText(3, key.id);
  st.BindText(4, service_id);
  st.BindText(5, keys::KeyEventTypeName(spec.type));
  st.BindTime(6, spec.time);
  st.BindInt64(7, static_cast<int>(spec.key_state));
  st.BindText(8, spec.key_version_id);
  st.BindText(9, spec.previous_key_version_id);
  st.BindText(10, sql_internal::EncodeTags(crns));
  st.BindTime(11, spec.time);
  return st.Run();
}

}  // namespace

absl::Status SqlStore::UpdateKey(const keys::Key& key,
                                    absl::Time expected_last_update,
                                    const KeyUpdate& update) {
  KW_RETURN_IF_ERROR(ValidateKeyForWrite(key));
  KW_RETURN_IF_ERROR(ValidateKeyUpdate(update));
  return WriteTransaction([&](Connection& db) -> absl::Status {
    int64_t primary_seq;
    {
      KW_ASSIGN_OR_RETURN(
          Statement st,
          db.Prepare("SELECT last_update_time, primary_seq FROM keys"
                     " WHERE instance_id = ? AND id = ?"));
      st.BindText(1, key.instance_id);
      st.BindText(2, key.id);
      KW_ASSIGN_OR_RETURN(bool found, st.Step());
      if (!found) return absl::NotFoundError("key not found");
      if (st.Int64(0) != absl::ToUnixMicros(expected_last_update)) {
        return absl::FailedPreconditionError("key was changed concurrently");
      }
      primary_seq = st.Int64(1);
    }
    // The registrations as they are before this update: the rule checks
    // them and the events report them (store.h, KeyUpdate).
    std::vector<RegistrationRef> registrations;
    if (update.event.has_value() ||
        update.registrations != RegistrationRule::kKeep) {
      KW_ASSIGN_OR_RETURN(registrations,
                          KeyRegistrations(db, key.instance_id, key.id));
    }
    if (update.registrations == RegistrationRule::kRefuseIfAny &&
        !registrations.empty()) {
      return absl::FailedPreconditionError("key has registrations");
    }
    if (update.registrations == RegistrationRule::kRefuseIfPrevented &&
        std::any_of(
            registrations.begin(), registrations.end(),
            [](const RegistrationRef& r) { return r.prevent_key_deletion; })) {
      return absl::FailedPreconditionError(
          "a registration prevents deleting the key");
    }
    if (update.event.has_value()) {
      for (size_t i = 0; i < registrations.size();) {
        const std::string& service = registrations[i].service_id;
        std::vector<std::string> crns;
        for (;
             i < registrations.size() && registrations[i].service_id == service;
             ++i) {
          crns.push_back(registrations[i].resource_crn);
        }
        KW_RETURN_IF_ERROR(InsertEvent(db, key, *update.event, service, crns));
      }
    }
    absl::flat_hash_set<std::string> stored_versions;
    {
      KW_ASSIGN_OR_RETURN(Statement st,
                          db.Prepare("SELECT version_id FROM key_versions"
                                     " WHERE instance_id = ? AND key_id = ?"));
      st.BindText(1, key.instance_id);
      st.BindText(2, key.id);
      while (true) {
        KW_ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) break;
        stored_versions.insert(st.Text(0));
      }
    }
    // Versions are immutable: only ids not stored yet are written, after
    // the existing ones, in the caller's order.
    for (const keys::KeyVersion& v : key.versions) {
      if (stored_versions.contains(v.id)) continue;
      KW_RETURN_IF_ERROR(InsertVersion(db, key, v, ++primary_seq));
    }
    {
      // Identity and origin (ids, extractable, imported, creation) are
      // fixed at creation and deliberately not updated.
      KW_ASSIGN_OR_RETURN(
          Statement st,
          db.Prepare("UPDATE keys SET name = ?, description = ?, tags = ?,"
                     " key_ring_id = ?, state = ?, material_bits = ?,"
                     " expiration_time = ?, last_update_time = ?,"
                     " last_state_change_time = ?, last_rotate_time = ?,"
                     " deletion_time = ?, deleted_by = ?, primary_seq = ?,"
                     " last_sync_time = ?, deletion_authorized_by = ?,"
                     " deletion_authorization_expiration = ?"
                     " WHERE instance_id = ? AND id = ?"));
      st.BindText(1, key.name);
      st.BindText(2, key.description);
      st.BindText(3, sql_internal::EncodeTags(key.tags));
      st.BindText(4, key.key_ring_id);
      st.BindInt64(5, static_cast<int>(key.state));
      st.BindInt64(6, key.material_bits);
      st.BindOptionalTime(7, key.expiration_time);
      st.BindTime(8, key.last_update_time);
      st.BindTime(9, key.last_state_change_time);
      st.BindOptionalTime(10, key.last_rotate_time);
      st.BindOptionalTime(11, key.deletion_time);
      st.BindText(12, key.deleted_by);
      st.BindInt64(13, primary_seq);
      st.BindOptionalTime(14, key.last_sync_time);
      st.BindText(15, key.deletion_authorized_by);
      st.BindOptionalTime(16, key.deletion_authorization_expiration);
      st.BindText(17, key.instance_id);
      st.BindText(18, key.id);
      KW_RETURN_IF_ERROR(st.Run());
    }
    KW_RETURN_IF_ERROR(WritePolicies(db, key));
    if (update.audit.has_value()) {
      KW_RETURN_IF_ERROR(AppendAuditRow(db, *update.audit));
    }
    return absl::OkStatus();
  },
      Change::Key(key.instance_id, key.id));
}

absl::Status SqlStore::PurgeKey(std::string_view instance_id,
                                   std::string_view key_id,
                                   absl::Time expected_last_update,
                                   const iam::AuditRecord& audit) {
  KW_RETURN_IF_ERROR(ValidateAuditRecord(audit));
  KW_RETURN_IF_ERROR(WriteTransaction([&](Connection& db) -> absl::Status {
    {
      KW_ASSIGN_OR_RETURN(Statement st,
                          db.Prepare("SELECT state, last_update_time FROM keys"
                                     " WHERE instance_id = ? AND id = ?"));
      st.BindText(1, instance_id);
      st.BindText(2, key_id);
      KW_ASSIGN_OR_RETURN(bool found, st.Step());
      if (!found) return absl::NotFoundError("key not found");
      if (st.Int64(0) != static_cast<int>(keys::KeyState::kDestroyed)) {
        return absl::FailedPreconditionError("key is not destroyed");
      }
      if (st.Int64(1) != absl::ToUnixMicros(expected_last_update)) {
        return absl::FailedPreconditionError("key was changed concurrently");
      }
    }
    {
      // The sealed material is replaced before the rows go, so that no row
      // version written from here on holds it (on PostgreSQL the delete
      // leaves the row versions dead in place, until VACUUM;
      // docs/operations.md "Deleted material").
      KW_ASSIGN_OR_RETURN(
          Statement st,
          db.Prepare("UPDATE key_versions SET sealed_material = ?"
                     " WHERE instance_id = ? AND key_id = ?"));
      st.BindBlob(1, std::span<const uint8_t>());
      st.BindText(2, instance_id);
      st.BindText(3, key_id);
      KW_RETURN_IF_ERROR(st.Run());
    }
    {
      // ON DELETE CASCADE removes its versions (the sealed material),
      // aliases, policies and registrations; SQLite's secure_delete zeroes
      // them. Events are not tied to the key and stay.
      KW_ASSIGN_OR_RETURN(
          Statement st,
          db.Prepare("DELETE FROM keys WHERE instance_id = ? AND id = ?"));
      st.BindText(1, instance_id);
      st.BindText(2, key_id);
      KW_RETURN_IF_ERROR(st.Run());
    }
    return AppendAuditRow(db, audit);
  },
      Change::Key(std::string(instance_id), std::string(key_id))));
  // What the database still holds of the material elsewhere (SQLite's WAL,
  // PostgreSQL's old row versions) is the dialect's to shred.
  absl::MutexLock lock(&write_mu_);
  AfterPurgeLocked(*writer_);
  return absl::OkStatus();
}

absl::StatusOr<keys::Key> SqlStore::GetKey(std::string_view instance_id,
                                              std::string_view key_id) {
  // One statement is one snapshot, so the key row and its versions agree
  // even while a rotation commits.
  auto sql = [](Dialect dialect) {
    return absl::StrCat(
        "SELECT ", KeyColumns(dialect),
        ", v.sealed_material FROM keys k JOIN key_versions v"
        " ON v.instance_id = k.instance_id AND v.key_id = k.id",
        kPolicyJoins, " WHERE k.instance_id = ? AND k.id = ? ORDER BY v.seq");
  };
  static const std::string kSqlite = sql(Dialect::kSqlite);
  static const std::string kPostgres = sql(Dialect::kPostgres);
  return WithReader([&](Connection& db) -> absl::StatusOr<keys::Key> {
    KW_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare(dialect_ == Dialect::kSqlite ? kSqlite : kPostgres));
    st.BindText(1, instance_id);
    st.BindText(2, key_id);
    std::optional<keys::Key> key;
    while (true) {
      KW_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      if (!key.has_value()) {
        KW_ASSIGN_OR_RETURN(key, ReadKeyRow(st, dialect_));
      }
      key->versions.push_back(ReadVersion(st, /*with_material=*/true));
    }
    if (!key.has_value()) return absl::NotFoundError("key not found");
    return *std::move(key);
  });
}

absl::StatusOr<std::vector<keys::Key>> SqlStore::ListKeys(
    const KeyQuery& query) {
  KW_RETURN_IF_ERROR(ValidateQuery(query));
  // Absent dates count as the smallest, as store.h asks: SQLite orders
  // NULL so by default, PostgreSQL is told to.
  const bool pg = dialect_ == Dialect::kPostgres;
  std::string order = " ORDER BY ";
  for (const SortKey& sk : query.sort) {
    absl::StrAppend(&order, SortColumn(sk.field),
                    sk.descending ? (pg ? " DESC NULLS LAST, " : " DESC, ")
                                  : (pg ? " ASC NULLS FIRST, " : " ASC, "));
  }
  order += "k.id ASC";
  // Deferred join: the inner query filters, sorts and pages narrow rows
  // (the row's identity and sort columns) of `keys` alone; only the page's
  // rows are then joined with their primary version and policies and read
  // in full. Sorting whole joined rows instead made a deep page of 100,000
  // keys about 3x slower on SQLite, which has a rowid to join on.
  const BuiltQuery where = KeyWhere(query, dialect_);
  const std::string sql = absl::StrCat(
      "SELECT ", KeyColumns(dialect_),
      pg ? " FROM (SELECT k.instance_id AS pi, k.id AS pid FROM keys k"
         : " FROM (SELECT k.rowid AS rid FROM keys k",
      where.sql, order, " LIMIT ? OFFSET ?) AS page",
      pg ? " JOIN keys k ON k.instance_id = page.pi AND k.id = page.pid"
         : " JOIN keys k ON k.rowid = page.rid",
      " JOIN key_versions v ON v.instance_id = k.instance_id"
      " AND v.key_id = k.id AND v.seq = k.primary_seq",
      kPolicyJoins, order);
  return WithReader(
      [&](Connection& db) -> absl::StatusOr<std::vector<keys::Key>> {
        KW_ASSIGN_OR_RETURN(Statement st, db.Prepare(sql));
        int next = 1;
        where.Bind(st, next);
        st.BindInt64(next++, query.limit);
        st.BindInt64(next++, query.offset);
        std::vector<keys::Key> out;
        while (true) {
          KW_ASSIGN_OR_RETURN(bool row, st.Step());
          if (!row) break;
          KW_ASSIGN_OR_RETURN(keys::Key k, ReadKeyRow(st, dialect_));
          k.versions.push_back(ReadVersion(st, /*with_material=*/false));
          out.push_back(std::move(k));
        }
        return out;
      });
}

absl::StatusOr<int64_t> SqlStore::CountKeys(const KeyQuery& query) {
  KW_RETURN_IF_ERROR(ValidateQuery(query));
  const BuiltQuery where = KeyWhere(query, dialect_);
  const std::string sql = "SELECT COUNT(*) FROM keys k" + where.sql;
  return WithReader([&](Connection& db) -> absl::StatusOr<int64_t> {
    KW_ASSIGN_OR_RETURN(Statement st, db.Prepare(sql));
    int next = 1;
    where.Bind(st, next);
    KW_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return absl::InternalError("sql: COUNT returned no row");
    return st.Int64(0);
  });
}

namespace {

using KeyRefs = std::vector<std::pair<std::string, std::string>>;

// Runs a work-list query: `sql` takes a time and a limit and returns
// (instance_id, id) rows.
absl::StatusOr<KeyRefs> ListKeyRefs(Connection& db, std::string_view sql,
                                    absl::Time t, int64_t limit) {
  KW_ASSIGN_OR_RETURN(Statement st, db.Prepare(sql));
  st.BindTime(1, t);
  st.BindInt64(2, limit);
  KeyRefs out;
  while (true) {
    KW_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return out;
    out.emplace_back(st.Text(0), st.Text(1));
  }
}

}  // namespace

absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
SqlStore::ListKeysDueForRotation(absl::Time now, int64_t limit) {
  KW_RETURN_IF_ERROR(ValidateLimit(limit));
  // interval_months × kRotationMonth in µs; ids break ties of the due time.
  static const std::string kSql = absl::StrCat(
      "SELECT k.instance_id, k.id FROM key_policies p"
      " JOIN keys k ON k.instance_id = p.instance_id AND k.id = p.key_id"
      " WHERE p.policy_type = 'rotation' AND p.enabled = 1"
      " AND k.state = 1 AND k.extractable = 0 AND k.imported = 0"
      " AND COALESCE(k.last_rotate_time, k.creation_time)"
      " + p.interval_months * ",
      absl::ToInt64Microseconds(keys::kRotationMonth),
      " <= ? ORDER BY COALESCE(k.last_rotate_time, k.creation_time)"
      " + p.interval_months * ",
      absl::ToInt64Microseconds(keys::kRotationMonth),
      ", k.instance_id, k.id LIMIT ?");
  return WithReader(
      [&](Connection& db) { return ListKeyRefs(db, kSql, now, limit); });
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
SqlStore::ListKeysDeletedBefore(absl::Time deleted_before, int64_t limit) {
  KW_RETURN_IF_ERROR(ValidateLimit(limit));
  // `state = 5` repeats the partial index keys_destroyed's condition so the
  // planner can use it.
  return WithReader([&](Connection& db) {
    return ListKeyRefs(db,
                       "SELECT instance_id, id FROM keys WHERE state = 5"
                       " AND deletion_time <= ?"
                       " ORDER BY deletion_time, instance_id, id LIMIT ?",
                       deleted_before, limit);
  });
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
SqlStore::ListExpiredKeys(absl::Time now, int64_t limit) {
  if (limit < 0) return absl::InvalidArgumentError("limit must be >= 0");
  using Result = std::vector<std::pair<std::string, std::string>>;
  return WithReader([&](Connection& db) -> absl::StatusOr<Result> {
    // The WHERE clause repeats the partial index keys_expiry's condition
    // word for word so the planner can use it.
    KW_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare("SELECT instance_id, id FROM keys"
                   " WHERE state IN (1, 2) AND expiration_time IS NOT NULL"
                   " AND expiration_time <= ?"
                   " ORDER BY expiration_time, instance_id, id LIMIT ?"));
    st.BindTime(1, now);
    st.BindInt64(2, limit);
    Result out;
    while (true) {
      KW_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      out.emplace_back(st.Text(0), st.Text(1));
    }
    return out;
  });
}

absl::Status SqlStore::CreateKeyRing(const KeyRing& ring,
                                        int64_t max_rings,
                                        const iam::AuditRecord& audit) {
  KW_RETURN_IF_ERROR(ValidateKeyRing(ring));
  return AuditedWrite(audit, [&](Connection& db) -> absl::Status {
    KW_RETURN_IF_ERROR(InsertInstance(db, ring.instance_id));
    KW_ASSIGN_OR_RETURN(
        int64_t exists,
        CountRows(db,
                  "SELECT COUNT(*) FROM key_rings WHERE instance_id = ?"
                  " AND id = ?",
                  ring.instance_id, ring.id));
    if (exists > 0) return absl::AlreadyExistsError("key ring already exists");
    {
      KW_ASSIGN_OR_RETURN(
          Statement st,
          db.Prepare("SELECT COUNT(*) FROM key_rings WHERE instance_id = ?"));
      st.BindText(1, ring.instance_id);
      KW_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) return absl::InternalError("sql: COUNT returned no row");
      if (st.Int64(0) >= max_rings) {
        return absl::ResourceExhaustedError(
            "too many key rings in the instance");
      }
    }
    KW_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare("INSERT INTO key_rings (instance_id, id, creation_time,"
                   " created_by) VALUES (?, ?, ?, ?)"));
    st.set_constraint_is_duplicate(true);
    st.BindText(1, ring.instance_id);
    st.BindText(2, ring.id);
    st.BindTime(3, ring.creation_time);
    st.BindText(4, ring.created_by);
    return st.Run();
  });
}

absl::StatusOr<KeyRing> SqlStore::GetKeyRing(std::string_view instance_id,
                                                std::string_view ring_id) {
  return WithReader([&](Connection& db) -> absl::StatusOr<KeyRing> {
    KW_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare("SELECT instance_id, id, creation_time, created_by"
                   " FROM key_rings WHERE instance_id = ? AND id = ?"));
    st.BindText(1, instance_id);
    st.BindText(2, ring_id);
    KW_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return absl::NotFoundError("key ring not found");
    return ReadRing(st);
  });
}

absl::StatusOr<std::vector<KeyRing>> SqlStore::ListKeyRings(
    std::string_view instance_id) {
  return WithReader(
      [&](Connection& db) -> absl::StatusOr<std::vector<KeyRing>> {
        KW_ASSIGN_OR_RETURN(
            Statement st,
            db.Prepare("SELECT instance_id, id, creation_time, created_by"
                       " FROM key_rings WHERE instance_id = ? ORDER BY id"));
        st.BindText(1, instance_id);
        std::vector<KeyRing> out;
        while (true) {
          KW_ASSIGN_OR_RETURN(bool row, st.Step());
          if (!row) break;
          out.push_back(ReadRing(st));
        }
        return out;
      });
}

absl::StatusOr<std::vector<std::string>> SqlStore::DeleteKeyRing(
    std::string_view instance_id, std::string_view ring_id,
    bool move_destroyed, absl::Time now, const iam::AuditRecord& audit) {
  std::vector<std::string> moved;
  KW_RETURN_IF_ERROR(AuditedWrite(audit, [&](Connection& db) -> absl::Status {
    moved.clear();
    KW_ASSIGN_OR_RETURN(
        int64_t exists,
        CountRows(db,
                  "SELECT COUNT(*) FROM key_rings WHERE instance_id = ?"
                  " AND id = ?",
                  instance_id, ring_id));
    if (exists == 0) return absl::NotFoundError("key ring not found");
    {
      KW_ASSIGN_OR_RETURN(
          Statement st,
          db.Prepare("SELECT id, state FROM keys WHERE instance_id = ?"
                     " AND key_ring_id = ? ORDER BY id"));
      st.BindText(1, instance_id);
      st.BindText(2, ring_id);
      while (true) {
        KW_ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) break;
        if (!move_destroyed ||
            st.Int64(1) != static_cast<int>(keys::KeyState::kDestroyed)) {
          return absl::FailedPreconditionError("key ring still holds keys");
        }
        moved.push_back(st.Text(0));
      }
    }
    if (!moved.empty()) {
      KW_ASSIGN_OR_RETURN(
          Statement st,
          db.Prepare(db.dialect() == Dialect::kSqlite
                         ? "UPDATE keys SET key_ring_id = 'default',"
                           " last_update_time = MAX(?, last_update_time + 1)"
                           " WHERE instance_id = ? AND key_ring_id = ?"
                         : "UPDATE keys SET key_ring_id = 'default',"
                           " last_update_time = GREATEST(?,"
                           " last_update_time + 1)"
                     " WHERE instance_id = ? AND key_ring_id = ?"));
      st.BindTime(1, now);
      st.BindText(2, instance_id);
      st.BindText(3, ring_id);
      KW_RETURN_IF_ERROR(st.Run());
    }
    KW_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare("DELETE FROM key_rings WHERE instance_id = ? AND id = ?"));
    st.BindText(1, instance_id);
    st.BindText(2, ring_id);
    return st.Run();
  }));
  return moved;
}

absl::Status SqlStore::CreateKeyAlias(const KeyAlias& alias,
                                         int64_t max_per_key,
                                         const iam::AuditRecord& audit) {
  KW_RETURN_IF_ERROR(ValidateKeyAlias(alias));
  return AuditedWrite(audit, [&](Connection& db) -> absl::Status {
    KW_ASSIGN_OR_RETURN(
        int64_t key_exists,
        CountRows(db, "SELECT COUNT(*) FROM keys WHERE instance_id = ? AND id = ?",
                  alias.instance_id, alias.key_id));
    if (key_exists == 0) return absl::NotFoundError("key not found");
    KW_ASSIGN_OR_RETURN(
        int64_t taken,
        CountRows(db,
                  "SELECT COUNT(*) FROM key_aliases WHERE instance_id = ?"
                  " AND alias = ?",
                  alias.instance_id, alias.alias));
    if (taken > 0) return absl::AlreadyExistsError("alias already exists");
    KW_ASSIGN_OR_RETURN(
        int64_t per_key,
        CountRows(db,
                  "SELECT COUNT(*) FROM key_aliases WHERE instance_id = ?"
                  " AND key_id = ?",
                  alias.instance_id, alias.key_id));
    if (per_key >= max_per_key) {
      return absl::ResourceExhaustedError("key has too many aliases");
    }
    return InsertAlias(db, alias);
  },
      Change::Key(alias.instance_id, alias.key_id));
}

absl::Status SqlStore::DeleteKeyAlias(std::string_view instance_id,
                                         std::string_view key_id,
                                         std::string_view alias,
                                         const iam::AuditRecord& audit) {
  return AuditedWrite(audit, [&](Connection& db) -> absl::Status {
    KW_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare("DELETE FROM key_aliases WHERE instance_id = ?"
                   " AND key_id = ? AND alias = ?"));
    st.BindText(1, instance_id);
    st.BindText(2, key_id);
    st.BindText(3, alias);
    KW_RETURN_IF_ERROR(st.Run());
    if (db.Changes() == 0) return absl::NotFoundError("alias not found");
    return absl::OkStatus();
  },
      Change::Key(std::string(instance_id), std::string(key_id)));
}

absl::StatusOr<KeyAlias> SqlStore::GetKeyAlias(std::string_view instance_id,
                                                  std::string_view alias) {
  return WithReader([&](Connection& db) -> absl::StatusOr<KeyAlias> {
    KW_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare("SELECT instance_id, alias, key_id, creation_time,"
                   " created_by FROM key_aliases"
                   " WHERE instance_id = ? AND alias = ?"));
    st.BindText(1, instance_id);
    st.BindText(2, alias);
    KW_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return absl::NotFoundError("alias not found");
    KeyAlias a;
    a.instance_id = st.Text(0);
    a.alias = st.Text(1);
    a.key_id = st.Text(2);
    a.creation_time = st.Time(3);
    a.created_by = st.Text(4);
    return a;
  });
}

absl::StatusOr<std::optional<std::string>> SqlStore::GetMeta(
    std::string_view name) {
  using Result = std::optional<std::string>;
  return WithReader([&](Connection& db) -> absl::StatusOr<Result> {
    KW_ASSIGN_OR_RETURN(Statement st,
                        db.Prepare("SELECT value FROM meta WHERE name = ?"));
    st.BindText(1, name);
    KW_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return Result();
    std::vector<uint8_t> value = st.Blob(0);
    return Result(std::string(value.begin(), value.end()));
  });
}

absl::StatusOr<bool> SqlStore::PutMetaIfAbsent(std::string_view name,
                                                  std::string_view value) {
  if (name.empty()) return absl::InvalidArgumentError("meta name is empty");
  bool inserted = false;
  KW_RETURN_IF_ERROR(WriteTransaction([&](Connection& db) -> absl::Status {
    KW_ASSIGN_OR_RETURN(
        Statement st, db.Prepare("INSERT INTO meta (name, value) VALUES (?, ?)"
                                 " ON CONFLICT (name) DO NOTHING"));
    st.BindText(1, name);
    st.BindBlob(
        2, std::span<const uint8_t>(
               reinterpret_cast<const uint8_t*>(value.data()), value.size()));
    KW_RETURN_IF_ERROR(st.Run());
    inserted = db.Changes() == 1;
    return absl::OkStatus();
  }));
  return inserted;
}

SqlStore::WriteStats SqlStore::write_stats() {
  WriteStats stats;
  stats.commits = commits_.load(std::memory_order_relaxed);
  stats.mutations = mutations_.load(std::memory_order_relaxed);
  stats.wal_shred_pending = ShredPending();
  absl::MutexLock lock(&queue_mu_);
  stats.queued = static_cast<int64_t>(queue_.size());
  return stats;
}

}  // namespace keywarden::store
