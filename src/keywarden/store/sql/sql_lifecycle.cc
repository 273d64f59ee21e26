// SqlStore's key-lifecycle tables of migration 0004
// (docs/formats/storage-schema.md): import tokens, instance policies,
// registrations, lifecycle events and job leases. Statements are borrowed
// one at a time (each in its own block), as Connection::Prepare requires.

#include <algorithm>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "keywarden/common/status_macros.h"
#include "keywarden/keys/policy.h"
#include "keywarden/keys/registration.h"
#include "keywarden/store/identity_validation.h"
#include "keywarden/store/sql/sql_connection.h"
#include "keywarden/store/sql/sql_internal.h"
#include "keywarden/store/sql/sql_store.h"
#include "keywarden/store/sql/tags_codec.h"
#include "keywarden/store/validation.h"

namespace keywarden::store {

using sql_internal::AppendAuditRow;
using sql_internal::BuiltQuery;
using sql_internal::Connection;
using sql_internal::InsertInstance;
using sql_internal::Statement;

namespace {

// ---- import tokens

constexpr char kTokenColumns[] =
    "instance_id, id, creation_time, expiration_time, max_retrievals,"
    " remaining_retrievals, nonce, public_key_pem, master_key_id,"
    " sealed_private_key, created_by";

ImportToken ReadToken(const Statement& st) {
  ImportToken t;
  t.instance_id = st.Text(0);
  t.id = st.Text(1);
  t.creation_time = st.Time(2);
  t.expiration_time = st.Time(3);
  t.max_retrievals = st.Int64(4);
  t.remaining_retrievals = st.Int64(5);
  t.nonce = st.Blob(6);
  t.public_key_pem = st.Text(7);
  t.master_key_id = st.Text(8);
  t.sealed_private_key = st.Blob(9);
  t.created_by = st.Text(10);
  return t;
}

absl::StatusOr<std::optional<ImportToken>> SelectToken(
    Connection& db, std::string_view instance_id) {
  static const std::string kSql = absl::StrCat(
      "SELECT ", kTokenColumns, " FROM import_tokens WHERE instance_id = ?");
  KW_ASSIGN_OR_RETURN(Statement st, db.Prepare(kSql));
  st.BindText(1, instance_id);
  KW_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<ImportToken>();
  return std::optional<ImportToken>(ReadToken(st));
}

// ---- instance policies

constexpr char kPolicyColumns[] =
    "instance_id, policy_type, enabled, rotation_interval_months,"
    " allowed_network, allowed_ips, create_root_key, create_standard_key,"
    " import_root_key, import_standard_key, enforce_token, creation_time,"
    " created_by, last_update_time, updated_by";

absl::StatusOr<keys::InstancePolicy> ReadInstancePolicy(const Statement& st) {
  keys::InstancePolicy p;
  p.instance_id = st.Text(0);
  std::optional<keys::InstancePolicyType> type =
      keys::InstancePolicyTypeFromName(st.Text(1));
  if (!type.has_value()) {
    return absl::DataLossError("stored instance policy has an unknown type");
  }
  p.type = *type;
  p.enabled = st.Bool(2);
  if (!st.IsNull(3)) p.rotation_interval_months = static_cast<int>(st.Int64(3));
  if (!st.IsNull(4)) {
    std::optional<keys::AllowedNetwork> network =
        keys::AllowedNetworkFromName(st.Text(4));
    if (!network.has_value()) {
      return absl::DataLossError(
          "stored instance policy has an unknown allowed network");
    }
    p.allowed_network = *network;
  }
  if (!st.IsNull(5)) {
    KW_ASSIGN_OR_RETURN(p.allowed_ips, sql_internal::DecodeTags(st.Text(5)));
  }
  if (!st.IsNull(6)) {
    p.key_create_import_access.create_root_key = st.Bool(6);
    p.key_create_import_access.create_standard_key = st.Bool(7);
    p.key_create_import_access.import_root_key = st.Bool(8);
    p.key_create_import_access.import_standard_key = st.Bool(9);
    p.key_create_import_access.enforce_token = st.Bool(10);
  }
  p.creation_time = st.Time(11);
  p.created_by = st.Text(12);
  p.last_update_time = st.Time(13);
  p.updated_by = st.Text(14);
  return p;
}

// Type order (store.h), then instance for ListAll's (instance, type).
void SortPolicies(std::vector<keys::InstancePolicy>& policies) {
  std::stable_sort(
      policies.begin(), policies.end(),
      [](const keys::InstancePolicy& a, const keys::InstancePolicy& b) {
        return std::tie(a.instance_id, a.type) <
               std::tie(b.instance_id, b.type);
      });
}

absl::Status UpsertInstancePolicy(Connection& db,
                                  const keys::InstancePolicy& p) {
  static const std::string kSql = absl::StrCat(
      "INSERT INTO instance_policies (", kPolicyColumns,
      ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
      " ON CONFLICT (instance_id, policy_type) DO UPDATE SET"
      " enabled = excluded.enabled,"
      " rotation_interval_months = excluded.rotation_interval_months,"
      " allowed_network = excluded.allowed_network,"
      " allowed_ips = excluded.allowed_ips,"
      " create_root_key = excluded.create_root_key,"
      " create_standard_key = excluded.create_standard_key,"
      " import_root_key = excluded.import_root_key,"
      " import_standard_key = excluded.import_standard_key,"
      " enforce_token = excluded.enforce_token,"
      " creation_time = excluded.creation_time,"
      " created_by = excluded.created_by,"
      " last_update_time = excluded.last_update_time,"
      " updated_by = excluded.updated_by");
  using T = keys::InstancePolicyType;
  KW_ASSIGN_OR_RETURN(Statement st, db.Prepare(kSql));
  st.BindText(1, p.instance_id);
  st.BindText(2, keys::InstancePolicyTypeName(p.type));
  st.BindBool(3, p.enabled);
  // Only the attributes of the row's type are stored (the table CHECKs it).
  if (p.type == T::kRotation) {
    st.BindInt64(4, p.rotation_interval_months);
  } else {
    st.BindNull(4);
  }
  if (p.type == T::kAllowedNetwork) {
    st.BindText(5, keys::AllowedNetworkName(p.allowed_network));
  } else {
    st.BindNull(5);
  }
  if (p.type == T::kAllowedIp) {
    st.BindText(6, sql_internal::EncodeTags(p.allowed_ips));
  } else {
    st.BindNull(6);
  }
  if (p.type == T::kKeyCreateImportAccess) {
    const keys::KeyCreateImportAccess& a = p.key_create_import_access;
    st.BindBool(7, a.create_root_key);
    st.BindBool(8, a.create_standard_key);
    st.BindBool(9, a.import_root_key);
    st.BindBool(10, a.import_standard_key);
    st.BindBool(11, a.enforce_token);
  } else {
    for (int i = 7; i <= 11; ++i) st.BindNull(i);
  }
  st.BindTime(12, p.creation_time);
  st.BindText(13, p.created_by);
  st.BindTime(14, p.last_update_time);
  st.BindText(15, p.updated_by);
  return st.Run();
}

// ---- registrations

constexpr char kRegistrationColumns[] =
    "r.instance_id, r.key_id, r.resource_crn, r.service_id, r.description,"
    " r.registration_metadata, r.prevent_key_deletion, r.key_version_id,"
    " r.creation_time, r.created_by, r.last_update_time, r.updated_by,"
    " r.revision";

keys::Registration ReadRegistration(const Statement& st) {
  keys::Registration r;
  r.instance_id = st.Text(0);
  r.key_id = st.Text(1);
  r.resource_crn = st.Text(2);
  r.service_id = st.Text(3);
  r.description = st.Text(4);
  r.registration_metadata = st.Text(5);
  r.prevent_key_deletion = st.Bool(6);
  r.key_version_id = st.Text(7);
  r.creation_time = st.Time(8);
  r.created_by = st.Text(9);
  r.last_update_time = st.Time(10);
  r.updated_by = st.Text(11);
  r.revision = st.Int64(12);
  return r;
}

// FROM and WHERE of `query` over `registrations r`. The CRN pattern is
// matched by kw_crn_match inside WHERE, so LIMIT/OFFSET page the matching
// rows: on SQLite keys::CrnPattern itself, registered on every connection;
// on PostgreSQL a function of its migration with the same rules.
BuiltQuery RegistrationWhere(const RegistrationQuery& query) {
  BuiltQuery q;
  q.sql = " FROM registrations r";
  if (query.key_ring_id.has_value() || !query.key_ring_ids.empty()) {
    q.sql +=
        " JOIN keys k ON k.instance_id = r.instance_id AND k.id = r.key_id";
  }
  q.sql += " WHERE r.instance_id = ?";
  q.args.emplace_back(query.instance_id);
  if (query.key_id.has_value()) {
    q.sql += " AND r.key_id = ?";
    q.args.emplace_back(*query.key_id);
  }
  if (query.service_id.has_value()) {
    q.sql += " AND r.service_id = ?";
    q.args.emplace_back(*query.service_id);
  }
  if (query.prevent_key_deletion.has_value()) {
    q.sql += " AND r.prevent_key_deletion = ?";
    q.args.emplace_back(int64_t{*query.prevent_key_deletion ? 1 : 0});
  }
  if (query.key_ring_id.has_value()) {
    q.sql += " AND k.key_ring_id = ?";
    q.args.emplace_back(*query.key_ring_id);
  }
  if (!query.key_ring_ids.empty()) {
    q.AppendIn("k.key_ring_id", query.key_ring_ids);
  }
  if (query.crn.has_value()) {
    q.sql += " AND kw_crn_match(?, r.resource_crn)";
    q.args.emplace_back(query.crn->text());
  }
  return q;
}

// ---- events

constexpr char kEventColumns[] =
    "id, instance_id, key_id, service_id, event_type, event_time, key_state,"
    " key_version_id, previous_key_version_id, resource_crns, attempts,"
    " next_attempt_time, last_attempt_time, delivered_time, last_error,"
    " acknowledged_time, adopter_key_state";

absl::StatusOr<keys::KeyEvent> ReadEvent(const Statement& st) {
  keys::KeyEvent e;
  e.id = st.Text(0);
  e.instance_id = st.Text(1);
  e.key_id = st.Text(2);
  e.service_id = st.Text(3);
  std::optional<keys::KeyEventType> type =
      keys::KeyEventTypeFromName(st.Text(4));
  std::optional<keys::KeyState> state =
      keys::KeyStateFromInt(static_cast<int>(st.Int64(6)));
  if (!type.has_value() || !state.has_value()) {
    return absl::DataLossError("stored event has an unknown type or key state");
  }
  e.type = *type;
  e.time = st.Time(5);
  e.key_state = *state;
  e.key_version_id = st.Text(7);
  e.previous_key_version_id = st.Text(8);
  KW_ASSIGN_OR_RETURN(e.resource_crns, sql_internal::DecodeTags(st.Text(9)));
  e.attempts = st.Int64(10);
  e.next_attempt_time = st.Time(11);
  e.last_attempt_time = st.OptionalTime(12);
  e.delivered_time = st.OptionalTime(13);
  e.last_error = st.Text(14);
  e.acknowledged_time = st.OptionalTime(15);
  e.adopter_key_state = st.Text(16);
  return e;
}

// The event `id`, or nullopt; when `service_id` is given, only if that
// service is its recipient.
absl::StatusOr<std::optional<keys::KeyEvent>> SelectEvent(
    Connection& db, std::string_view id,
    std::optional<std::string_view> service_id) {
  static const std::string kById =
      absl::StrCat("SELECT ", kEventColumns, " FROM key_events WHERE id = ?");
  static const std::string kByIdAndService = kById + " AND service_id = ?";
  KW_ASSIGN_OR_RETURN(
      Statement st,
      db.Prepare(service_id.has_value() ? kByIdAndService : kById));
  st.BindText(1, id);
  if (service_id.has_value()) st.BindText(2, *service_id);
  KW_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<keys::KeyEvent>();
  KW_ASSIGN_OR_RETURN(keys::KeyEvent e, ReadEvent(st));
  return std::optional<keys::KeyEvent>(std::move(e));
}

}  // namespace

// ---- import tokens (keyprotect-api.md §8)

absl::Status SqlStore::PutImportToken(const ImportToken& token,
                                         const iam::AuditRecord& audit) {
  KW_RETURN_IF_ERROR(ValidateImportToken(token));
  return AuditedWrite(audit, [&](Connection& db) -> absl::Status {
    KW_RETURN_IF_ERROR(InsertInstance(db, token.instance_id));
    KW_RETURN_IF_ERROR(
        sql_internal::CheckSealedUnder(db, token.master_key_id));
    static const std::string kSql = absl::StrCat(
        "INSERT INTO import_tokens (", kTokenColumns,
        ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (instance_id) DO UPDATE SET id = excluded.id,"
        " creation_time = excluded.creation_time,"
        " expiration_time = excluded.expiration_time,"
        " max_retrievals = excluded.max_retrievals,"
        " remaining_retrievals = excluded.remaining_retrievals,"
        " nonce = excluded.nonce, public_key_pem = excluded.public_key_pem,"
        " master_key_id = excluded.master_key_id,"
        " sealed_private_key = excluded.sealed_private_key,"
        " created_by = excluded.created_by");
    KW_ASSIGN_OR_RETURN(Statement st, db.Prepare(kSql));
    st.BindText(1, token.instance_id);
    st.BindText(2, token.id);
    st.BindTime(3, token.creation_time);
    st.BindTime(4, token.expiration_time);
    st.BindInt64(5, token.max_retrievals);
    st.BindInt64(6, token.remaining_retrievals);
    st.BindBlob(7, token.nonce);
    st.BindText(8, token.public_key_pem);
    st.BindText(9, token.master_key_id);
    st.BindBlob(10, token.sealed_private_key);
    st.BindText(11, token.created_by);
    return st.Run();
  },
      std::nullopt);
}

absl::StatusOr<ImportToken> SqlStore::GetImportToken(
    std::string_view instance_id) {
  std::optional<ImportToken> token;
  KW_RETURN_IF_ERROR(Read([&](Connection& db) -> absl::Status {
    KW_ASSIGN_OR_RETURN(token, SelectToken(db, instance_id));
    return absl::OkStatus();
  }));
  if (!token.has_value()) return absl::NotFoundError("import token not found");
  return *std::move(token);
}

absl::StatusOr<ImportToken> SqlStore::RetrieveImportToken(
    std::string_view instance_id, absl::Time now) {
  ImportToken out;
  KW_RETURN_IF_ERROR(WriteTransaction([&](Connection& db) -> absl::Status {
    KW_ASSIGN_OR_RETURN(std::optional<ImportToken> token,
                        SelectToken(db, instance_id));
    if (!token.has_value()) {
      return absl::NotFoundError("import token not found");
    }
    if (absl::ToUnixMicros(now) >= absl::ToUnixMicros(token->expiration_time)) {
      return absl::FailedPreconditionError("import token has expired");
    }
    if (token->remaining_retrievals <= 0) {
      return absl::FailedPreconditionError(
          "import token has no retrievals left");
    }
    KW_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare("UPDATE import_tokens SET remaining_retrievals ="
                   " remaining_retrievals - 1 WHERE instance_id = ?"));
    st.BindText(1, instance_id);
    KW_RETURN_IF_ERROR(st.Run());
    token->remaining_retrievals -= 1;
    out = *std::move(token);
    return absl::OkStatus();
  },
      std::nullopt));
  return out;
}

// ---- instance policies (keyprotect-api.md §7.2)

absl::Status SqlStore::PutInstancePolicies(
    std::span<const keys::InstancePolicy> policies,
    const iam::AuditRecord& audit) {
  KW_RETURN_IF_ERROR(ValidateInstancePolicies(policies));
  return AuditedWrite(audit, [&](Connection& db) -> absl::Status {
    std::set<std::string_view> instances;
    for (const keys::InstancePolicy& p : policies) {
      if (instances.insert(p.instance_id).second) {
        KW_RETURN_IF_ERROR(InsertInstance(db, p.instance_id));
      }
      KW_RETURN_IF_ERROR(UpsertInstancePolicy(db, p));
    }
    return absl::OkStatus();
  },
      Change::Of(Change::Kind::kInstancePolicies));
}

absl::StatusOr<std::vector<keys::InstancePolicy>>
SqlStore::ListInstancePolicies(std::string_view instance_id) {
  static const std::string kSql =
      absl::StrCat("SELECT ", kPolicyColumns,
                   " FROM instance_policies WHERE instance_id = ?");
  std::vector<keys::InstancePolicy> out;
  KW_RETURN_IF_ERROR(Read([&](Connection& db) -> absl::Status {
    KW_ASSIGN_OR_RETURN(Statement st, db.Prepare(kSql));
    st.BindText(1, instance_id);
    while (true) {
      KW_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) return absl::OkStatus();
      KW_ASSIGN_OR_RETURN(keys::InstancePolicy p, ReadInstancePolicy(st));
      out.push_back(std::move(p));
    }
  }));
  SortPolicies(out);
  return out;
}

absl::StatusOr<std::vector<keys::InstancePolicy>>
SqlStore::ListAllInstancePolicies() {
  static const std::string kSql =
      absl::StrCat("SELECT ", kPolicyColumns, " FROM instance_policies");
  std::vector<keys::InstancePolicy> out;
  KW_RETURN_IF_ERROR(Read([&](Connection& db) -> absl::Status {
    KW_ASSIGN_OR_RETURN(Statement st, db.Prepare(kSql));
    while (true) {
      KW_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) return absl::OkStatus();
      KW_ASSIGN_OR_RETURN(keys::InstancePolicy p, ReadInstancePolicy(st));
      out.push_back(std::move(p));
    }
  }));
  SortPolicies(out);
  return out;
}

// ---- registrations (keyprotect-api.md §11)

absl::Status SqlStore::CreateRegistration(
    const keys::Registration& registration, const iam::AuditRecord& audit) {
  KW_RETURN_IF_ERROR(ValidateRegistration(registration));
  if (registration.revision != 1) {
    return absl::InvalidArgumentError("a new registration has revision 1");
  }
  const keys::Registration& r = registration;
  return AuditedWrite(audit, [&](Connection& db) -> absl::Status {
    {
      KW_ASSIGN_OR_RETURN(Statement st,
                          db.Prepare("SELECT extractable, state FROM keys"
                                     " WHERE instance_id = ? AND id = ?"));
      st.BindText(1, r.instance_id);
      st.BindText(2, r.key_id);
      KW_ASSIGN_OR_RETURN(bool found, st.Step());
      if (!found) return absl::NotFoundError("key not found");
      if (st.Bool(0) ||
          st.Int64(1) != static_cast<int>(keys::KeyState::kActive)) {
        return absl::FailedPreconditionError(
            "only an Active root key can be registered");
      }
    }
    KW_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare("INSERT INTO registrations (instance_id, key_id,"
                   " resource_crn, service_id, description,"
                   " registration_metadata, prevent_key_deletion,"
                   " key_version_id, creation_time, created_by,"
                   " last_update_time, updated_by, revision)"
                   " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    st.set_constraint_is_duplicate(true);
    st.BindText(1, r.instance_id);
    st.BindText(2, r.key_id);
    st.BindText(3, r.resource_crn);
    st.BindText(4, r.service_id);
    st.BindText(5, r.description);
    st.BindText(6, r.registration_metadata);
    st.BindBool(7, r.prevent_key_deletion);
    st.BindText(8, r.key_version_id);
    st.BindTime(9, r.creation_time);
    st.BindText(10, r.created_by);
    st.BindTime(11, r.last_update_time);
    st.BindText(12, r.updated_by);
    st.BindInt64(13, r.revision);
    absl::Status s = st.Run();
    if (absl::IsAlreadyExists(s)) {
      return absl::AlreadyExistsError("registration already exists");
    }
    return s;
  },
      std::nullopt);
}

absl::Status SqlStore::UpdateRegistration(
    const keys::Registration& registration, int64_t expected_revision,
    const iam::AuditRecord& audit) {
  KW_RETURN_IF_ERROR(ValidateRegistration(registration));
  if (registration.revision != expected_revision + 1) {
    return absl::InvalidArgumentError(
        "an updated registration's revision is the expected one plus 1");
  }
  const keys::Registration& r = registration;
  return AuditedWrite(audit, [&](Connection& db) -> absl::Status {
    {
      KW_ASSIGN_OR_RETURN(
          Statement st,
          db.Prepare("SELECT revision FROM registrations WHERE instance_id = ?"
                     " AND key_id = ? AND resource_crn = ?"));
      st.BindText(1, r.instance_id);
      st.BindText(2, r.key_id);
      st.BindText(3, r.resource_crn);
      KW_ASSIGN_OR_RETURN(bool found, st.Step());
      if (!found) return absl::NotFoundError("registration not found");
      if (st.Int64(0) != expected_revision) {
        return absl::FailedPreconditionError(
            "registration was changed concurrently");
      }
    }
    // Identity (instance, key, CRN, service) and creation are fixed.
    KW_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare(
            "UPDATE registrations SET description = ?,"
            " registration_metadata = ?, prevent_key_deletion = ?,"
            " key_version_id = ?, last_update_time = ?,"
            " updated_by = ?, revision = ?"
            " WHERE instance_id = ? AND key_id = ? AND resource_crn = ?"));
    st.BindText(1, r.description);
    st.BindText(2, r.registration_metadata);
    st.BindBool(3, r.prevent_key_deletion);
    st.BindText(4, r.key_version_id);
    st.BindTime(5, r.last_update_time);
    st.BindText(6, r.updated_by);
    st.BindInt64(7, r.revision);
    st.BindText(8, r.instance_id);
    st.BindText(9, r.key_id);
    st.BindText(10, r.resource_crn);
    return st.Run();
  },
      std::nullopt);
}

absl::StatusOr<keys::Registration> SqlStore::GetRegistration(
    std::string_view instance_id, std::string_view key_id,
    std::string_view resource_crn) {
  static const std::string kSql = absl::StrCat(
      "SELECT ", kRegistrationColumns,
      " FROM registrations r WHERE r.instance_id = ? AND r.key_id = ?"
      " AND r.resource_crn = ?");
  std::optional<keys::Registration> out;
  KW_RETURN_IF_ERROR(Read([&](Connection& db) -> absl::Status {
    KW_ASSIGN_OR_RETURN(Statement st, db.Prepare(kSql));
    st.BindText(1, instance_id);
    st.BindText(2, key_id);
    st.BindText(3, resource_crn);
    KW_ASSIGN_OR_RETURN(bool row, st.Step());
    if (row) out = ReadRegistration(st);
    return absl::OkStatus();
  }));
  if (!out.has_value()) return absl::NotFoundError("registration not found");
  return *std::move(out);
}

absl::Status SqlStore::DeleteRegistration(std::string_view instance_id,
                                             std::string_view key_id,
                                             std::string_view resource_crn,
                                             const iam::AuditRecord& audit) {
  return AuditedWrite(audit, [&](Connection& db) -> absl::Status {
    KW_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare("DELETE FROM registrations WHERE instance_id = ?"
                   " AND key_id = ? AND resource_crn = ?"));
    st.BindText(1, instance_id);
    st.BindText(2, key_id);
    st.BindText(3, resource_crn);
    KW_RETURN_IF_ERROR(st.Run());
    if (db.Changes() == 0) return absl::NotFoundError("registration not found");
    return absl::OkStatus();
  },
      std::nullopt);
}

absl::StatusOr<std::vector<keys::Registration>> SqlStore::ListRegistrations(
    const RegistrationQuery& query) {
  KW_RETURN_IF_ERROR(ValidateRegistrationQuery(query));
  const BuiltQuery where = RegistrationWhere(query);
  const std::string sql =
      absl::StrCat("SELECT ", kRegistrationColumns, where.sql,
                   " ORDER BY r.key_id, r.resource_crn LIMIT ? OFFSET ?");
  std::vector<keys::Registration> out;
  KW_RETURN_IF_ERROR(Read([&](Connection& db) -> absl::Status {
    KW_ASSIGN_OR_RETURN(Statement st, db.Prepare(sql));
    int next = 1;
    where.Bind(st, next);
    st.BindInt64(next++, query.limit);
    st.BindInt64(next++, query.offset);
    while (true) {
      KW_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) return absl::OkStatus();
      out.push_back(ReadRegistration(st));
    }
  }));
  return out;
}

absl::StatusOr<int64_t> SqlStore::CountRegistrations(
    const RegistrationQuery& query) {
  KW_RETURN_IF_ERROR(ValidateRegistrationQuery(query));
  const BuiltQuery where = RegistrationWhere(query);
  const std::string sql = "SELECT COUNT(*)" + where.sql;
  int64_t count = 0;
  KW_RETURN_IF_ERROR(Read([&](Connection& db) -> absl::Status {
    KW_ASSIGN_OR_RETURN(Statement st, db.Prepare(sql));
    int next = 1;
    where.Bind(st, next);
    KW_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return absl::InternalError("sql: COUNT returned no row");
    count = st.Int64(0);
    return absl::OkStatus();
  }));
  return count;
}

// ---- lifecycle events (keyprotect-api.md §12)

absl::StatusOr<std::vector<keys::KeyEvent>> SqlStore::ListDueEvents(
    absl::Time now, int64_t limit) {
  KW_RETURN_IF_ERROR(ValidateLimit(limit));
  // `acknowledged_time IS NULL` repeats the partial index key_events_due's
  // condition so the planner can use it.
  static const std::string kSql =
      absl::StrCat("SELECT ", kEventColumns,
                   " FROM key_events WHERE acknowledged_time IS NULL"
                   " AND next_attempt_time <= ?"
                   " ORDER BY next_attempt_time, event_time, id LIMIT ?");
  std::vector<keys::KeyEvent> out;
  KW_RETURN_IF_ERROR(Read([&](Connection& db) -> absl::Status {
    KW_ASSIGN_OR_RETURN(Statement st, db.Prepare(kSql));
    st.BindTime(1, now);
    st.BindInt64(2, limit);
    while (true) {
      KW_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) return absl::OkStatus();
      KW_ASSIGN_OR_RETURN(keys::KeyEvent e, ReadEvent(st));
      out.push_back(std::move(e));
    }
  }));
  return out;
}

absl::StatusOr<std::optional<absl::Time>> SqlStore::NextEventDue() {
  std::optional<absl::Time> out;
  KW_RETURN_IF_ERROR(Read([&](Connection& db) -> absl::Status {
    KW_ASSIGN_OR_RETURN(
        Statement st, db.Prepare("SELECT MIN(next_attempt_time) FROM key_events"
                                 " WHERE acknowledged_time IS NULL"));
    KW_ASSIGN_OR_RETURN(bool row, st.Step());
    if (row) out = st.OptionalTime(0);
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<keys::KeyEvent> SqlStore::GetEvent(
    std::string_view event_id) {
  std::optional<keys::KeyEvent> out;
  KW_RETURN_IF_ERROR(Read([&](Connection& db) -> absl::Status {
    KW_ASSIGN_OR_RETURN(out, SelectEvent(db, event_id, std::nullopt));
    return absl::OkStatus();
  }));
  if (!out.has_value()) return absl::NotFoundError("event not found");
  return *std::move(out);
}

absl::Status SqlStore::RecordEventAttempt(std::string_view event_id,
                                             absl::Time at, bool delivered,
                                             absl::Time next_attempt,
                                             std::string_view error) {
  return WriteTransaction([&](Connection& db) -> absl::Status {
    {
      KW_ASSIGN_OR_RETURN(
          Statement st,
          db.Prepare("SELECT acknowledged_time IS NOT NULL FROM key_events"
                     " WHERE id = ?"));
      st.BindText(1, event_id);
      KW_ASSIGN_OR_RETURN(bool found, st.Step());
      if (!found) return absl::NotFoundError("event not found");
      if (st.Bool(0)) return absl::OkStatus();  // acknowledged: done
    }
    KW_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare("UPDATE key_events SET attempts = attempts + 1,"
                   " last_attempt_time = ?1, next_attempt_time = ?2,"
                   " last_error = ?3, delivered_time = CASE"
                   " WHEN ?4 = 1 AND delivered_time IS NULL THEN ?1"
                   " ELSE delivered_time END WHERE id = ?5"));
    st.BindTime(1, at);
    st.BindTime(2, next_attempt);
    st.BindText(3, error);
    st.BindBool(4, delivered);
    st.BindText(5, event_id);
    return st.Run();
  },
      std::nullopt);
}

absl::StatusOr<keys::KeyEvent> SqlStore::AcknowledgeEvent(
    const keys::EventAck& ack, absl::Time now) {
  KW_RETURN_IF_ERROR(ValidateEventAck(ack));
  keys::KeyEvent out;
  KW_RETURN_IF_ERROR(WriteTransaction([&](Connection& db) -> absl::Status {
    KW_ASSIGN_OR_RETURN(std::optional<keys::KeyEvent> event,
                        SelectEvent(db, ack.event_id, ack.service_id));
    // Another service's event is NotFound too: a service learns nothing
    // about events addressed to others.
    if (!event.has_value()) return absl::NotFoundError("event not found");
    if (event->acknowledged_time.has_value()) {
      out = *std::move(event);
      return absl::OkStatus();
    }
    {
      KW_ASSIGN_OR_RETURN(
          Statement st,
          db.Prepare("UPDATE key_events SET acknowledged_time = ?,"
                     " adopter_key_state = ? WHERE id = ?"));
      st.BindTime(1, now);
      st.BindText(2, ack.adopter_key_state);
      st.BindText(3, ack.event_id);
      KW_RETURN_IF_ERROR(st.Run());
    }
    if (!ack.rewrapped_key_version_id.empty()) {
      KW_ASSIGN_OR_RETURN(
          Statement st,
          db.Prepare("UPDATE registrations SET key_version_id = ?,"
                     " revision = revision + 1, last_update_time = ?,"
                     " updated_by = ? WHERE instance_id = ? AND key_id = ?"
                     " AND service_id = ?"));
      st.BindText(1, ack.rewrapped_key_version_id);
      st.BindTime(2, now);
      st.BindText(3, ack.service_id);
      st.BindText(4, event->instance_id);
      st.BindText(5, event->key_id);
      st.BindText(6, ack.service_id);
      KW_RETURN_IF_ERROR(st.Run());
    }
    if (ack.delete_registrations) {
      KW_ASSIGN_OR_RETURN(
          Statement st,
          db.Prepare("DELETE FROM registrations WHERE instance_id = ?"
                     " AND key_id = ? AND service_id = ?"));
      st.BindText(1, event->instance_id);
      st.BindText(2, event->key_id);
      st.BindText(3, ack.service_id);
      KW_RETURN_IF_ERROR(st.Run());
    }
    KW_ASSIGN_OR_RETURN(event, SelectEvent(db, ack.event_id, std::nullopt));
    if (!event.has_value()) {
      return absl::InternalError("sql: acknowledged event vanished");
    }
    out = *std::move(event);
    return absl::OkStatus();
  }));
  return out;
}

// ---- background-job leases

absl::StatusOr<bool> SqlStore::TryAcquireLease(std::string_view name,
                                                  std::string_view holder,
                                                  absl::Time now,
                                                  absl::Duration ttl) {
  KW_RETURN_IF_ERROR(ValidateLease(name, holder, ttl));
  bool held = false;
  KW_RETURN_IF_ERROR(WriteTransaction([&](Connection& db) -> absl::Status {
    held = false;
    {
      KW_ASSIGN_OR_RETURN(
          Statement st, db.Prepare("SELECT holder, expires_time FROM job_leases"
                                   " WHERE name = ?"));
      st.BindText(1, name);
      KW_ASSIGN_OR_RETURN(bool row, st.Step());
      if (row && st.Text(0) != holder &&
          st.Int64(1) > absl::ToUnixMicros(now)) {
        return absl::OkStatus();  // someone else's, still running
      }
    }
    KW_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare("INSERT INTO job_leases (name, holder, expires_time)"
                   " VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET"
                   " holder = excluded.holder,"
                   " expires_time = excluded.expires_time"));
    st.BindText(1, name);
    st.BindText(2, holder);
    st.BindTime(3, now + ttl);
    KW_RETURN_IF_ERROR(st.Run());
    held = true;
    return absl::OkStatus();
  },
      std::nullopt));
  return held;
}

absl::Status SqlStore::ReleaseLease(std::string_view name,
                                       std::string_view holder) {
  KW_RETURN_IF_ERROR(ValidateLease(name, holder, absl::Seconds(1)));
  return WriteTransaction([&](Connection& db) -> absl::Status {
    KW_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare("DELETE FROM job_leases WHERE name = ? AND holder = ?"));
    st.BindText(1, name);
    st.BindText(2, holder);
    return st.Run();
  },
      std::nullopt);
}

}  // namespace keywarden::store
