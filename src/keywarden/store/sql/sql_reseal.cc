// SqlStore's ResealStore (reseal_store.h): the rekey's queries over the
// four tables that hold sealed secrets (docs/formats/storage-schema.md).
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keywarden/common/status_macros.h"
#include "keywarden/store/sql/sql_internal.h"
#include "keywarden/store/sql/sql_store.h"

namespace keywarden::store {

using sql_internal::Connection;
using sql_internal::Statement;

namespace {

// One table that holds a sealed secret: its row identity (the AAD's ids,
// in order), its id and secret columns. Derived once, used by every query.
struct SealedTable {
  SealedKind kind;
  const char* table;
  std::vector<const char*> id_columns;
  const char* secret_column;
};

const std::vector<SealedTable>& SealedTables() {
  static const auto* tables = new std::vector<SealedTable>{
      {SealedKind::kKeyMaterial,
       "key_versions",
       {"instance_id", "key_id", "version_id"},
       "sealed_material"},
      {SealedKind::kImportToken,
       "import_tokens",
       {"instance_id", "id"},
       "sealed_private_key"},
      {SealedKind::kWebhookSecret,
       "webhooks",
       {"principal_id"},
       "sealed_secret"},
      {SealedKind::kSigningKey,
       "signing_keys",
       {"kid"},
       "sealed_private_key"},
  };
  return *tables;
}

const SealedTable* TableOf(SealedKind kind) {
  for (const SealedTable& t : SealedTables()) {
    if (t.kind == kind) return &t;
  }
  return nullptr;
}

std::string IdList(const SealedTable& t) {
  std::string out;
  for (const char* c : t.id_columns) {
    if (!out.empty()) out += ", ";
    out += c;
  }
  return out;
}

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

absl::StatusOr<int64_t> CountIn(Connection& db, std::string_view not_under) {
  int64_t total = 0;
  for (const SealedTable& t : SealedTables()) {
    KW_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare(std::string("SELECT COUNT(*) FROM ") + t.table +
                   " WHERE master_key_id <> ?"));
    st.BindText(1, not_under);
    KW_ASSIGN_OR_RETURN(bool row, st.Step());
    if (row) total += st.Int64(0);
  }
  return total;
}

absl::StatusOr<std::optional<std::string>> MetaIn(Connection& db,
                                                  std::string_view name) {
  KW_ASSIGN_OR_RETURN(Statement st,
                      db.Prepare("SELECT value FROM meta WHERE name = ?"));
  st.BindText(1, name);
  KW_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<std::string>();
  std::vector<uint8_t> v = st.Blob(0);
  return std::optional<std::string>(std::string(v.begin(), v.end()));
}

absl::Status SetMetaIn(Connection& db, std::string_view name,
                       const std::optional<std::string>& value) {
  {
    KW_ASSIGN_OR_RETURN(Statement st,
                        db.Prepare("DELETE FROM meta WHERE name = ?"));
    st.BindText(1, name);
    KW_RETURN_IF_ERROR(st.Run());
  }
  if (!value.has_value()) return absl::OkStatus();
  KW_ASSIGN_OR_RETURN(
      Statement st, db.Prepare("INSERT INTO meta (name, value) VALUES (?, ?)"));
  st.BindText(1, name);
  st.BindBlob(2, Bytes(*value));
  return st.Run();
}

}  // namespace

namespace sql_internal {

absl::Status CheckSealedUnder(Connection& db, std::string_view master_key_id) {
  // One indexed read of meta per sealed row written, on the writer inside
  // its transaction: the id FinishRekey wrote is what this sees.
  KW_ASSIGN_OR_RETURN(std::optional<std::string> ids,
                      MetaIn(db, kMasterKeysMetaName));
  if (!ids.has_value()) return absl::OkStatus();
  std::string_view rest = *ids;
  while (true) {
    const size_t comma = rest.find(',');
    if (rest.substr(0, comma) == master_key_id) return absl::OkStatus();
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return RetiredMasterKeyError();
}

}  // namespace sql_internal

absl::StatusOr<std::vector<SealedRow>> SqlStore::ListSealedRows(
    std::string_view not_under, int64_t limit) {
  std::vector<SealedRow> rows;
  KW_RETURN_IF_ERROR(Read([&](Connection& db) -> absl::Status {
    for (const SealedTable& t : SealedTables()) {
      if (static_cast<int64_t>(rows.size()) >= limit) break;
      const std::string ids = IdList(t);
      KW_ASSIGN_OR_RETURN(
          Statement st,
          db.Prepare("SELECT " + ids + ", master_key_id, " + t.secret_column +
                     " FROM " + t.table + " WHERE master_key_id <> ?" +
                     " ORDER BY " + ids + " LIMIT ?"));
      st.BindText(1, not_under);
      st.BindInt64(2, limit - static_cast<int64_t>(rows.size()));
      const int n = static_cast<int>(t.id_columns.size());
      while (true) {
        KW_ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) break;
        SealedRow r;
        r.kind = t.kind;
        for (int i = 0; i < n; ++i) r.ids.push_back(st.Text(i));
        r.master_key_id = st.Text(n);
        r.sealed = st.Blob(n + 1);
        rows.push_back(std::move(r));
      }
    }
    return absl::OkStatus();
  }));
  return rows;
}

absl::StatusOr<int64_t> SqlStore::CountSealedRows(std::string_view not_under) {
  int64_t total = 0;
  KW_RETURN_IF_ERROR(Read([&](Connection& db) -> absl::Status {
    KW_ASSIGN_OR_RETURN(total, CountIn(db, not_under));
    return absl::OkStatus();
  }));
  return total;
}

absl::StatusOr<int64_t> SqlStore::ResealRows(std::span<const Resealed> rows) {
  for (const Resealed& r : rows) {
    const SealedTable* t = TableOf(r.row.kind);
    if (t == nullptr || r.row.ids.size() != t->id_columns.size() ||
        r.master_key_id.empty() || r.sealed.empty()) {
      return absl::InvalidArgumentError("reseal: malformed row");
    }
  }
  int64_t changed = 0;
  KW_RETURN_IF_ERROR(WriteTransaction([&](Connection& db) -> absl::Status {
    changed = 0;
    for (const Resealed& r : rows) {
      const SealedTable& t = *TableOf(r.row.kind);
      // Compare-and-set on the id and the bytes read: a row rewritten
      // since (a purge's overwrite, a new webhook secret) is left alone.
      std::string sql = std::string("UPDATE ") + t.table +
                        " SET master_key_id = ?, " + t.secret_column +
                        " = ? WHERE master_key_id = ? AND " +
                        t.secret_column + " = ?";
      for (const char* c : t.id_columns) sql += std::string(" AND ") + c + " = ?";
      KW_ASSIGN_OR_RETURN(Statement st, db.Prepare(sql));
      st.BindText(1, r.master_key_id);
      st.BindBlob(2, r.sealed);
      st.BindText(3, r.row.master_key_id);
      st.BindBlob(4, r.row.sealed);
      for (size_t i = 0; i < r.row.ids.size(); ++i) {
        st.BindText(static_cast<int>(5 + i), r.row.ids[i]);
      }
      KW_RETURN_IF_ERROR(st.Run());
      changed += db.Changes();
    }
    return absl::OkStatus();
  }));
  return changed;
}

absl::StatusOr<bool> SqlStore::SwapMeta(
    std::string_view name, const std::optional<std::string>& expected,
    const std::optional<std::string>& value) {
  if (name.empty()) return absl::InvalidArgumentError("meta name is empty");
  bool swapped = false;
  KW_RETURN_IF_ERROR(WriteTransaction([&](Connection& db) -> absl::Status {
    KW_ASSIGN_OR_RETURN(std::optional<std::string> now, MetaIn(db, name));
    swapped = now == expected;
    if (!swapped) return absl::OkStatus();
    return SetMetaIn(db, name, value);
  }));
  return swapped;
}

absl::StatusOr<bool> SqlStore::StartRekey(std::string_view rekey_name,
                                          std::string_view rekey_record,
                                          std::string_view from,
                                          std::string_view to,
                                          const iam::AuditRecord& audit) {
  if (rekey_name.empty() || from.empty() || to.empty() ||
      from.find(',') != std::string_view::npos ||
      to.find(',') != std::string_view::npos) {
    return absl::InvalidArgumentError("rekey: malformed start");
  }
  bool created = false;
  KW_RETURN_IF_ERROR(WriteTransaction([&](Connection& db) -> absl::Status {
    KW_ASSIGN_OR_RETURN(std::optional<std::string> now, MetaIn(db, rekey_name));
    created = !now.has_value();
    if (!created) return absl::OkStatus();
    KW_RETURN_IF_ERROR(SetMetaIn(db, rekey_name, std::string(rekey_record)));
    KW_RETURN_IF_ERROR(SetMetaIn(db, kMasterKeysMetaName,
                                 std::string(from) + "," + std::string(to)));
    return sql_internal::AppendAuditRow(db, audit);
  }));
  return created;
}

absl::StatusOr<bool> SqlStore::FinishRekey(std::string_view key_id,
                                           std::string_view seal_name,
                                           std::string_view seal_record,
                                           std::string_view rekey_name,
                                           std::string_view rekey_record,
    const std::optional<iam::AuditRecord>& audit) {
  bool finished = false;
  KW_RETURN_IF_ERROR(WriteTransaction([&](Connection& db) -> absl::Status {
    finished = false;
    // Inside the writers' lock: no row can be added under the old key
    // between this count and the commit.
    KW_ASSIGN_OR_RETURN(int64_t remaining, CountIn(db, key_id));
    if (remaining != 0) return absl::OkStatus();
    KW_ASSIGN_OR_RETURN(std::optional<std::string> rekey,
                        MetaIn(db, rekey_name));
    if (rekey != std::optional<std::string>(std::string(rekey_record))) {
      return absl::OkStatus();
    }
    KW_RETURN_IF_ERROR(SetMetaIn(db, seal_name, std::string(seal_record)));
    // From this commit on, a row sealed under the old key is refused
    // (CheckSealedUnder), whichever node writes it.
    KW_RETURN_IF_ERROR(
        SetMetaIn(db, kMasterKeysMetaName, std::string(key_id)));
    KW_RETURN_IF_ERROR(SetMetaIn(db, rekey_name, std::nullopt));
    if (audit.has_value()) {
      KW_RETURN_IF_ERROR(sql_internal::AppendAuditRow(db, *audit));
    }
    finished = true;
    return absl::OkStatus();
  }));
  return finished;
}

}  // namespace keywarden::store
