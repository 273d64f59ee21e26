#ifndef KEYWARDEN_STORE_SQL_SQL_INTERNAL_H_
#define KEYWARDEN_STORE_SQL_SQL_INTERNAL_H_

// Pieces of SqlStore shared by its source files (sql_store.cc,
// sql_lifecycle.cc, sql_identity_store.cc) and by the dialects' Open. Each
// runs inside the caller's write transaction (or read) on the connection it
// is given.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keywarden/iam/identity.h"
#include "keywarden/store/migrations/migrations.h"
#include "keywarden/store/sql/sql_connection.h"

namespace keywarden::store::sql_internal {

// A query's text and its positional parameters, built together so they
// cannot drift apart.
struct BuiltQuery {
  // Bytes bound as a BLOB, so SQL compares them byte for byte.
  struct Bytes {
    std::string value;
  };
  using Arg = std::variant<int64_t, std::string, Bytes>;

  std::string sql;
  std::vector<Arg> args;

  // Binds `args` from parameter `index` on; leaves `index` past them.
  void Bind(Statement& st, int& index) const {
    for (const Arg& a : args) {
      if (const auto* i = std::get_if<int64_t>(&a)) {
        st.BindInt64(index++, *i);
      } else if (const auto* t = std::get_if<std::string>(&a)) {
        st.BindText(index++, *t);
      } else {
        const std::string& b = std::get<Bytes>(a).value;
        st.BindBlob(index++,
                    std::span<const uint8_t>(
                        reinterpret_cast<const uint8_t*>(b.data()), b.size()));
      }
    }
  }

  // Appends " AND <column> IN (?, ...)" binding `values`.
  void AppendIn(std::string_view column,
                const std::vector<std::string>& values) {
    sql += " AND ";
    sql += column;
    sql += " IN (";
    for (size_t i = 0; i < values.size(); ++i) {
      sql += i == 0 ? "?" : ", ?";
      args.emplace_back(values[i]);
    }
    sql += ")";
  }
};

// Appends `audit` to audit_log with the next seq and the chain hash
// (docs/formats/audit.md), read from the newest row in this transaction.
absl::Status AppendAuditRow(Connection& db, const iam::AuditRecord& audit);

// Before a sealed row is written: RetiredMasterKeyError (reseal_store.h)
// if `master_key_id` is not one that meta `master_keys` names
// (sql_reseal.cc). Runs inside the writer's transaction.
absl::Status CheckSealedUnder(Connection& db, std::string_view master_key_id);

// Records `instance_id` in `instances` unless it is there already.
absl::Status InsertInstance(Connection& db, std::string_view instance_id);

// Applies the migrations of `migrations` (numbered 1..N without gaps) that
// the database lacks, recording each in schema_version, whose table
// `create_version_table` creates if absent. Runs inside the caller's
// transaction, which must exclude other migrating processes. Fails with
// FailedPrecondition if the database's schema is newer than `migrations`
// (a downgrade).
absl::Status Migrate(Connection& db, std::span<const Migration> migrations,
                     std::string_view create_version_table);

// True if `sql` (one bound text parameter) returns a row.
absl::StatusOr<bool> Exists(Connection& db, std::string_view sql,
                            std::string_view value);

}  // namespace keywarden::store::sql_internal

#endif  // KEYWARDEN_STORE_SQL_SQL_INTERNAL_H_
