// SqlStore's IdentityStore half: the tables of migration 0002
// (docs/formats/storage-schema.md §3) and the audit hash chain
// (docs/formats/audit.md). Statements are borrowed one at a time (each in
// its own block), as Connection::Prepare requires.

#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "keywarden/common/status_macros.h"
#include "keywarden/store/audit_chain.h"
#include "keywarden/store/identity_validation.h"
#include "keywarden/store/sql/sql_connection.h"
#include "keywarden/store/sql/sql_internal.h"
#include "keywarden/store/sql/sql_store.h"
#include "keywarden/store/validation.h"

namespace keywarden::store {

using sql_internal::AppendAuditRow;
using sql_internal::Connection;
using sql_internal::Exists;
using sql_internal::Statement;

namespace {

// Roles are stored by name, joined by ',' in the caller's order (names
// contain no comma).
std::string EncodeRoles(const std::vector<iam::Role>& roles) {
  std::string out;
  for (iam::Role role : roles) {
    if (!out.empty()) out += ',';
    out += iam::RoleName(role);
  }
  return out;
}

absl::StatusOr<iam::Role> DecodeRole(std::string_view name) {
  std::optional<iam::Role> role = iam::RoleFromName(name);
  if (!role.has_value()) {
    return absl::DataLossError("stored record has an unknown role name");
  }
  return *role;
}

absl::StatusOr<std::vector<iam::Role>> DecodeRoles(std::string_view text) {
  std::vector<iam::Role> roles;
  while (true) {
    size_t comma = text.find(',');
    KW_ASSIGN_OR_RETURN(iam::Role role, DecodeRole(text.substr(0, comma)));
    roles.push_back(role);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return roles;
}

std::span<const uint8_t> Bytes(const iam::SecretHash& h) {
  return std::span<const uint8_t>(h.data(), h.size());
}

absl::StatusOr<iam::SecretHash> ReadHash(const Statement& st, int column,
                                         std::string_view what) {
  std::vector<uint8_t> bytes = st.Blob(column);
  iam::SecretHash out{};
  if (bytes.size() != out.size()) {
    return absl::DataLossError(
        absl::StrCat("stored ", std::string(what), " is not 32 bytes"));
  }
  std::copy(bytes.begin(), bytes.end(), out.begin());
  return out;
}

void BindOptionalText(Statement& st, int index,
                      const std::optional<std::string>& value) {
  if (value.has_value()) {
    st.BindText(index, *value);
  } else {
    st.BindNull(index);
  }
}

std::optional<std::string> OptionalText(const Statement& st, int column) {
  if (st.IsNull(column)) return std::nullopt;
  return st.Text(column);
}

constexpr char kAuditColumns[] =
    "seq, time, actor, action, target, outcome, correlation_id,"
    " source_address, details, prev_hash, hash";

absl::StatusOr<iam::AuditRecord> ReadAuditRow(const Statement& st) {
  iam::AuditRecord r;
  r.seq = st.Int64(0);
  r.time = st.Time(1);
  r.actor = st.Text(2);
  r.action = st.Text(3);
  r.target = st.Text(4);
  switch (st.Int64(5)) {
    case 0:
      r.outcome = iam::AuditOutcome::kSuccess;
      break;
    case 1:
      r.outcome = iam::AuditOutcome::kFailure;
      break;
    default:
      return absl::DataLossError(absl::StrCat("audit log: record seq ", r.seq,
                                              " has an unknown outcome code"));
  }
  r.correlation_id = st.Text(6);
  r.source_address = st.Text(7);
  r.details = st.Text(8);
  absl::StatusOr<iam::SecretHash> prev = ReadHash(st, 9, "audit prev_hash");
  absl::StatusOr<iam::SecretHash> hash = ReadHash(st, 10, "audit hash");
  if (!prev.ok() || !hash.ok()) {
    return absl::DataLossError(absl::StrCat(
        "audit log: record seq ", r.seq, " has a hash that is not 32 bytes"));
  }
  r.prev_hash = *prev;
  r.hash = *hash;
  return r;
}

// Runs a SELECT without parameters and collects its rows with `read`.
template <typename Record, typename ReadRow>
absl::Status CollectRows(Connection& db, std::string_view sql, ReadRow read,
                         std::vector<Record>& out) {
  KW_ASSIGN_OR_RETURN(Statement st, db.Prepare(sql));
  while (true) {
    KW_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return absl::OkStatus();
    KW_ASSIGN_OR_RETURN(Record record, read(st));
    out.push_back(std::move(record));
  }
}

// Deletes the row of `sql` (one bound id); NotFound naming `what` if none.
absl::Status DeleteOne(Connection& db, std::string_view sql,
                       std::string_view id, std::string_view what) {
  KW_ASSIGN_OR_RETURN(Statement st, db.Prepare(sql));
  st.BindText(1, id);
  KW_RETURN_IF_ERROR(st.Run());
  if (db.Changes() == 0) {
    return absl::NotFoundError(absl::StrCat(std::string(what), " not found"));
  }
  return absl::OkStatus();
}

// Runs an INSERT whose PRIMARY KEY/UNIQUE violation means a duplicate.
absl::Status RunInsert(Statement& st, std::string_view what) {
  st.set_constraint_is_duplicate(true);
  absl::Status s = st.Run();
  if (absl::IsAlreadyExists(s)) {
    return absl::AlreadyExistsError(
        absl::StrCat(std::string(what), " already exists"));
  }
  return s;
}

}  // namespace

namespace sql_internal {

absl::StatusOr<bool> Exists(Connection& db, std::string_view sql,
                            std::string_view value) {
  KW_ASSIGN_OR_RETURN(Statement st, db.Prepare(sql));
  st.BindText(1, value);
  return st.Step();
}

absl::Status AppendAuditRow(Connection& db, const iam::AuditRecord& audit) {
  iam::AuditRecord record = audit;
  record.time = TruncateToMicros(record.time);
  record.seq = 1;
  record.prev_hash = iam::SecretHash{};
  {
    // The chain continues from the last stored record, read inside this
    // transaction, so concurrent appends (serialised by the writer) chain.
    KW_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare(
            "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"));
    KW_ASSIGN_OR_RETURN(bool row, st.Step());
    if (row) {
      record.seq = st.Int64(0) + 1;
      KW_ASSIGN_OR_RETURN(record.prev_hash, ReadHash(st, 1, "audit hash"));
    }
  }
  KW_ASSIGN_OR_RETURN(record.hash, AuditChainHash(record.prev_hash, record));
  KW_ASSIGN_OR_RETURN(
      Statement st,
      db.Prepare("INSERT INTO audit_log (seq, time, actor, action, target,"
                 " outcome, correlation_id, source_address, details,"
                 " prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  st.BindInt64(1, record.seq);
  st.BindTime(2, record.time);
  st.BindText(3, record.actor);
  st.BindText(4, record.action);
  st.BindText(5, record.target);
  st.BindInt64(6, record.outcome == iam::AuditOutcome::kSuccess ? 0 : 1);
  st.BindText(7, record.correlation_id);
  st.BindText(8, record.source_address);
  st.BindText(9, record.details);
  st.BindBlob(10, Bytes(record.prev_hash));
  st.BindBlob(11, Bytes(record.hash));
  return st.Run();
}

}  // namespace sql_internal

absl::Status SqlStore::AuditedWrite(
    const iam::AuditRecord& audit,
    absl::FunctionRef<absl::Status(Connection&)> body,
    std::optional<Change> change) {
  KW_RETURN_IF_ERROR(ValidateAuditRecord(audit));
  return WriteTransaction(
      [&](Connection& db) -> absl::Status {
        KW_RETURN_IF_ERROR(body(db));
        return AppendAuditRow(db, audit);
      },
      std::move(change));
}

// ---- principals

absl::Status SqlStore::CreatePrincipal(const iam::PrincipalRecord& principal,
                                          const iam::AuditRecord& audit) {
  KW_RETURN_IF_ERROR(ValidatePrincipal(principal));
  return AuditedWrite(audit, [&](Connection& db) -> absl::Status {
    KW_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare("INSERT INTO principals (id, kind, name, service_type,"
                   " admin, creation_time, created_by)"
                   " VALUES (?, ?, ?, ?, ?, ?, ?)"));
    st.BindText(1, principal.id);
    st.BindText(2, iam::PrincipalKindCode(principal.kind));
    st.BindText(3, principal.name);
    st.BindText(4, principal.service_type);
    st.BindBool(5, principal.admin);
    st.BindTime(6, principal.creation_time);
    st.BindText(7, principal.created_by);
    return RunInsert(st, "principal");
  },
      Change::Of(Change::Kind::kIdentity));
}

absl::Status SqlStore::DeletePrincipal(std::string_view id,
                                          const iam::AuditRecord& audit) {
  // ON DELETE CASCADE removes its api_keys, policies and the authorizations
  // whose source it is.
  return AuditedWrite(audit, [&](Connection& db) {
    return DeleteOne(db, "DELETE FROM principals WHERE id = ?", id,
                     "principal");
  });
}

absl::StatusOr<std::vector<iam::PrincipalRecord>>
SqlStore::ListPrincipals() {
  std::vector<iam::PrincipalRecord> out;
  KW_RETURN_IF_ERROR(Read([&](Connection& db) {
    return CollectRows<iam::PrincipalRecord>(
        db,
        "SELECT id, kind, name, service_type, admin, creation_time,"
        " created_by FROM principals ORDER BY id",
        [](const Statement& st) -> absl::StatusOr<iam::PrincipalRecord> {
          iam::PrincipalRecord p;
          p.id = st.Text(0);
          std::optional<iam::PrincipalKind> kind =
              iam::PrincipalKindFromCode(st.Text(1));
          if (!kind.has_value()) {
            return absl::DataLossError("stored principal has an unknown kind");
          }
          p.kind = *kind;
          p.name = st.Text(2);
          p.service_type = st.Text(3);
          p.admin = st.Bool(4);
          p.creation_time = st.Time(5);
          p.created_by = st.Text(6);
          return p;
        },
        out);
  }));
  return out;
}

// ---- API keys

absl::Status SqlStore::CreateApiKey(const iam::ApiKeyRecord& key,
                                       const iam::AuditRecord& audit) {
  KW_RETURN_IF_ERROR(ValidateApiKey(key));
  return AuditedWrite(audit, [&](Connection& db) -> absl::Status {
    KW_ASSIGN_OR_RETURN(
        bool principal,
        Exists(db, "SELECT 1 FROM principals WHERE id = ?", key.principal_id));
    if (!principal) {
      return absl::FailedPreconditionError(
          "api key's principal does not exist");
    }
    KW_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare("INSERT INTO api_keys (id, principal_id, name, prefix,"
                   " secret_hash, creation_time, created_by)"
                   " VALUES (?, ?, ?, ?, ?, ?, ?)"));
    st.BindText(1, key.id);
    st.BindText(2, key.principal_id);
    st.BindText(3, key.name);
    st.BindText(4, key.prefix);
    st.BindBlob(5, Bytes(key.secret_hash));
    st.BindTime(6, key.creation_time);
    st.BindText(7, key.created_by);
    return RunInsert(st, "api key (id or prefix)");
  },
      Change::Of(Change::Kind::kIdentity));
}

absl::Status SqlStore::DeleteApiKey(std::string_view id,
                                       const iam::AuditRecord& audit) {
  return AuditedWrite(audit, [&](Connection& db) {
    return DeleteOne(db, "DELETE FROM api_keys WHERE id = ?", id, "api key");
  },
      Change::Of(Change::Kind::kIdentity));
}

absl::StatusOr<std::vector<iam::ApiKeyRecord>> SqlStore::ListApiKeys() {
  std::vector<iam::ApiKeyRecord> out;
  KW_RETURN_IF_ERROR(Read([&](Connection& db) {
    return CollectRows<iam::ApiKeyRecord>(
        db,
        "SELECT id, principal_id, name, prefix, secret_hash, creation_time,"
        " created_by FROM api_keys ORDER BY id",
        [](const Statement& st) -> absl::StatusOr<iam::ApiKeyRecord> {
          iam::ApiKeyRecord k;
          k.id = st.Text(0);
          k.principal_id = st.Text(1);
          k.name = st.Text(2);
          k.prefix = st.Text(3);
          KW_ASSIGN_OR_RETURN(k.secret_hash,
                              ReadHash(st, 4, "api key secret hash"));
          k.creation_time = st.Time(5);
          k.created_by = st.Text(6);
          return k;
        },
        out);
  }));
  return out;
}

// ---- instances

absl::Status SqlStore::CreateInstance(const iam::InstanceRecord& instance,
                                         const iam::AuditRecord& audit) {
  KW_RETURN_IF_ERROR(ValidateInstance(instance));
  KW_RETURN_IF_ERROR(AuditedWrite(audit, [&](Connection& db) -> absl::Status {
    KW_ASSIGN_OR_RETURN(
        Statement st, db.Prepare("INSERT INTO instances (id, name, created_by,"
                                 " creation_time) VALUES (?, ?, ?, ?)"));
    st.BindText(1, instance.id);
    st.BindText(2, instance.name);
    st.BindText(3, instance.created_by);
    st.BindTime(4, instance.creation_time);
    return RunInsert(st, "instance");
  },
      Change::Of(Change::Kind::kIdentity)));
  absl::MutexLock lock(&instances_mu_);
  known_instances_.insert(instance.id);
  return absl::OkStatus();
}

absl::Status SqlStore::DeleteInstance(std::string_view id,
                                         const iam::AuditRecord& audit) {
  KW_RETURN_IF_ERROR(AuditedWrite(audit, [&](Connection& db) -> absl::Status {
    KW_ASSIGN_OR_RETURN(bool exists,
                        Exists(db, "SELECT 1 FROM instances WHERE id = ?", id));
    if (!exists) return absl::NotFoundError("instance not found");
    // Keys in any state, Destroyed included, keep their instance (the
    // foreign key from keys would refuse too, but as an Internal error).
    KW_ASSIGN_OR_RETURN(
        bool has_keys,
        Exists(db, "SELECT 1 FROM keys WHERE instance_id = ? LIMIT 1", id));
    if (has_keys) {
      return absl::FailedPreconditionError("instance still holds keys");
    }
    // ON DELETE CASCADE removes the policies and authorizations scoped to it.
    return DeleteOne(db, "DELETE FROM instances WHERE id = ?", id, "instance");
  }));
  absl::MutexLock lock(&instances_mu_);
  known_instances_.erase(std::string(id));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<iam::InstanceRecord>> SqlStore::ListInstances() {
  std::vector<iam::InstanceRecord> out;
  KW_RETURN_IF_ERROR(Read([&](Connection& db) {
    return CollectRows<iam::InstanceRecord>(
        db,
        "SELECT id, name, creation_time, created_by FROM instances"
        " ORDER BY id",
        [](const Statement& st) -> absl::StatusOr<iam::InstanceRecord> {
          iam::InstanceRecord i;
          i.id = st.Text(0);
          i.name = st.Text(1);
          i.creation_time = st.Time(2);
          i.created_by = st.Text(3);
          return i;
        },
        out);
  }));
  return out;
}

// ---- policies

absl::Status SqlStore::CreatePolicy(const iam::AccessPolicyRecord& policy,
                                       const iam::AuditRecord& audit) {
  KW_RETURN_IF_ERROR(ValidatePolicy(policy));
  return AuditedWrite(audit, [&](Connection& db) -> absl::Status {
    KW_ASSIGN_OR_RETURN(bool principal,
                        Exists(db, "SELECT 1 FROM principals WHERE id = ?",
                               policy.principal_id));
    if (!principal) {
      return absl::FailedPreconditionError("policy's principal does not exist");
    }
    KW_ASSIGN_OR_RETURN(bool instance,
                        Exists(db, "SELECT 1 FROM instances WHERE id = ?",
                               policy.scope.instance_id));
    if (!instance) {
      return absl::FailedPreconditionError("policy's instance does not exist");
    }
    KW_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare("INSERT INTO policies (id, principal_id, instance_id,"
                   " key_ring_id, key_id, roles, creation_time, created_by)"
                   " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
    st.BindText(1, policy.id);
    st.BindText(2, policy.principal_id);
    st.BindText(3, policy.scope.instance_id);
    BindOptionalText(st, 4, policy.scope.key_ring_id);
    BindOptionalText(st, 5, policy.scope.key_id);
    st.BindText(6, EncodeRoles(policy.roles));
    st.BindTime(7, policy.creation_time);
    st.BindText(8, policy.created_by);
    return RunInsert(st, "policy");
  },
      Change::Of(Change::Kind::kIdentity));
}

absl::Status SqlStore::DeletePolicy(std::string_view id,
                                       const iam::AuditRecord& audit) {
  return AuditedWrite(audit, [&](Connection& db) {
    return DeleteOne(db, "DELETE FROM policies WHERE id = ?", id, "policy");
  },
      Change::Of(Change::Kind::kIdentity));
}

absl::StatusOr<std::vector<iam::AccessPolicyRecord>>
SqlStore::ListPolicies() {
  std::vector<iam::AccessPolicyRecord> out;
  KW_RETURN_IF_ERROR(Read([&](Connection& db) {
    return CollectRows<iam::AccessPolicyRecord>(
        db,
        "SELECT id, principal_id, instance_id, key_ring_id, key_id, roles,"
        " creation_time, created_by FROM policies ORDER BY id",
        [](const Statement& st) -> absl::StatusOr<iam::AccessPolicyRecord> {
          iam::AccessPolicyRecord p;
          p.id = st.Text(0);
          p.principal_id = st.Text(1);
          p.scope.instance_id = st.Text(2);
          p.scope.key_ring_id = OptionalText(st, 3);
          p.scope.key_id = OptionalText(st, 4);
          KW_ASSIGN_OR_RETURN(p.roles, DecodeRoles(st.Text(5)));
          p.creation_time = st.Time(6);
          p.created_by = st.Text(7);
          return p;
        },
        out);
  }));
  return out;
}

// ---- authorizations

absl::Status SqlStore::CreateAuthorization(
    const iam::ServiceAuthorizationRecord& authorization,
    const iam::AuditRecord& audit) {
  KW_RETURN_IF_ERROR(ValidateAuthorization(authorization));
  return AuditedWrite(audit, [&](Connection& db) -> absl::Status {
    if (!authorization.source_service_id.empty()) {
      KW_ASSIGN_OR_RETURN(bool source,
                          Exists(db,
                                 "SELECT 1 FROM principals WHERE id = ?"
                                 " AND kind = 'service_id'",
                                 authorization.source_service_id));
      if (!source) {
        return absl::FailedPreconditionError(
            "authorization's source service id does not exist");
      }
    }
    KW_ASSIGN_OR_RETURN(bool instance,
                        Exists(db, "SELECT 1 FROM instances WHERE id = ?",
                               authorization.target.instance_id));
    if (!instance) {
      return absl::FailedPreconditionError(
          "authorization's instance does not exist");
    }
    KW_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare("INSERT INTO authorizations (id, source_service_id,"
                   " source_service_type, instance_id, key_ring_id, key_id,"
                   " role, creation_time, created_by)"
                   " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    st.BindText(1, authorization.id);
    BindOptionalText(
        st, 2,
        authorization.source_service_id.empty()
            ? std::nullopt
            : std::optional<std::string>(authorization.source_service_id));
    st.BindText(3, authorization.source_service_type);
    st.BindText(4, authorization.target.instance_id);
    BindOptionalText(st, 5, authorization.target.key_ring_id);
    BindOptionalText(st, 6, authorization.target.key_id);
    st.BindText(7, iam::RoleName(authorization.role));
    st.BindTime(8, authorization.creation_time);
    st.BindText(9, authorization.created_by);
    return RunInsert(st, "authorization");
  },
      Change::Of(Change::Kind::kIdentity));
}

absl::Status SqlStore::DeleteAuthorization(std::string_view id,
                                              const iam::AuditRecord& audit) {
  return AuditedWrite(audit, [&](Connection& db) {
    return DeleteOne(db, "DELETE FROM authorizations WHERE id = ?", id,
                     "authorization");
  },
      Change::Of(Change::Kind::kIdentity));
}

absl::StatusOr<std::vector<iam::ServiceAuthorizationRecord>>
SqlStore::ListAuthorizations() {
  std::vector<iam::ServiceAuthorizationRecord> out;
  KW_RETURN_IF_ERROR(Read([&](Connection& db) {
    return CollectRows<iam::ServiceAuthorizationRecord>(
        db,
        "SELECT id, source_service_id, source_service_type, instance_id,"
        " key_ring_id, key_id, role, creation_time, created_by"
        " FROM authorizations ORDER BY id",
        [](const Statement& st)
            -> absl::StatusOr<iam::ServiceAuthorizationRecord> {
          iam::ServiceAuthorizationRecord a;
          a.id = st.Text(0);
          a.source_service_id = st.IsNull(1) ? std::string() : st.Text(1);
          a.source_service_type = st.Text(2);
          a.target.instance_id = st.Text(3);
          a.target.key_ring_id = OptionalText(st, 4);
          a.target.key_id = OptionalText(st, 5);
          KW_ASSIGN_OR_RETURN(a.role, DecodeRole(st.Text(6)));
          a.creation_time = st.Time(7);
          a.created_by = st.Text(8);
          return a;
        },
        out);
  }));
  return out;
}

// ---- webhooks

absl::Status SqlStore::PutWebhook(const iam::WebhookRecord& webhook,
                                     const iam::AuditRecord& audit) {
  KW_RETURN_IF_ERROR(ValidateWebhook(webhook));
  return AuditedWrite(audit, [&](Connection& db) -> absl::Status {
    KW_ASSIGN_OR_RETURN(bool service,
                        Exists(db,
                               "SELECT 1 FROM principals WHERE id = ?"
                               " AND kind = 'service_id'",
                               webhook.principal_id));
    if (!service) {
      return absl::FailedPreconditionError(
          "webhook's principal is not an existing service id");
    }
    KW_RETURN_IF_ERROR(
        sql_internal::CheckSealedUnder(db, webhook.master_key_id));
    KW_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare("INSERT INTO webhooks (principal_id, url, master_key_id,"
                   " sealed_secret, creation_time, created_by)"
                   " VALUES (?, ?, ?, ?, ?, ?)"
                   " ON CONFLICT (principal_id) DO UPDATE SET"
                   " url = excluded.url,"
                   " master_key_id = excluded.master_key_id,"
                   " sealed_secret = excluded.sealed_secret,"
                   " creation_time = excluded.creation_time,"
                   " created_by = excluded.created_by"));
    st.BindText(1, webhook.principal_id);
    st.BindText(2, webhook.url);
    st.BindText(3, webhook.master_key_id);
    st.BindBlob(4, webhook.sealed_secret);
    st.BindTime(5, webhook.creation_time);
    st.BindText(6, webhook.created_by);
    return st.Run();
  },
      Change::Of(Change::Kind::kWebhooks));
}

absl::Status SqlStore::DeleteWebhook(std::string_view principal_id,
                                        const iam::AuditRecord& audit) {
  return AuditedWrite(audit, [&](Connection& db) {
    return DeleteOne(db, "DELETE FROM webhooks WHERE principal_id = ?",
                     principal_id, "webhook");
  },
      Change::Of(Change::Kind::kWebhooks));
}

absl::StatusOr<std::vector<iam::WebhookRecord>> SqlStore::ListWebhooks() {
  std::vector<iam::WebhookRecord> out;
  KW_RETURN_IF_ERROR(Read([&](Connection& db) {
    return CollectRows<iam::WebhookRecord>(
        db,
        "SELECT principal_id, url, master_key_id, sealed_secret,"
        " creation_time, created_by FROM webhooks ORDER BY principal_id",
        [](const Statement& st) -> absl::StatusOr<iam::WebhookRecord> {
          iam::WebhookRecord w;
          w.principal_id = st.Text(0);
          w.url = st.Text(1);
          w.master_key_id = st.Text(2);
          w.sealed_secret = st.Blob(3);
          w.creation_time = st.Time(4);
          w.created_by = st.Text(5);
          return w;
        },
        out);
  }));
  return out;
}

// ---- signing keys (not audited: the service audits rotation itself)

absl::Status SqlStore::PutSigningKey(const iam::SigningKeyRecord& key) {
  KW_RETURN_IF_ERROR(ValidateSigningKey(key));
  return WriteTransaction([&](Connection& db) -> absl::Status {
    KW_RETURN_IF_ERROR(sql_internal::CheckSealedUnder(db, key.master_key_id));
    KW_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare(
            "INSERT INTO signing_keys (kid, algorithm, sealed_private_key,"
            " master_key_id, public_key_der, creation_time, retire_time)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (kid) DO UPDATE SET algorithm = excluded.algorithm,"
            " sealed_private_key = excluded.sealed_private_key,"
            " master_key_id = excluded.master_key_id,"
            " public_key_der = excluded.public_key_der,"
            " creation_time = excluded.creation_time,"
            " retire_time = excluded.retire_time"));
    st.BindText(1, key.kid);
    st.BindText(2, key.algorithm);
    st.BindBlob(3, key.sealed_private_key);
    st.BindText(4, key.master_key_id);
    st.BindBlob(5, key.public_key_der);
    st.BindTime(6, key.creation_time);
    st.BindTime(7, key.retire_time);
    return st.Run();
  },
      Change::Of(Change::Kind::kSigningKeys));
}

absl::Status SqlStore::DeleteSigningKey(std::string_view kid) {
  return WriteTransaction([&](Connection& db) {
    return DeleteOne(db, "DELETE FROM signing_keys WHERE kid = ?", kid,
                     "signing key");
  },
      Change::Of(Change::Kind::kSigningKeys));
}

absl::StatusOr<std::vector<iam::SigningKeyRecord>>
SqlStore::ListSigningKeys() {
  std::vector<iam::SigningKeyRecord> out;
  KW_RETURN_IF_ERROR(Read([&](Connection& db) {
    return CollectRows<iam::SigningKeyRecord>(
        db,
        "SELECT kid, algorithm, sealed_private_key, master_key_id,"
        " public_key_der, creation_time, retire_time FROM signing_keys"
        " ORDER BY kid",
        [](const Statement& st) -> absl::StatusOr<iam::SigningKeyRecord> {
          iam::SigningKeyRecord k;
          k.kid = st.Text(0);
          k.algorithm = st.Text(1);
          k.sealed_private_key = st.Blob(2);
          k.master_key_id = st.Text(3);
          k.public_key_der = st.Blob(4);
          k.creation_time = st.Time(5);
          k.retire_time = st.Time(6);
          return k;
        },
        out);
  }));
  return out;
}

// ---- audit

absl::Status SqlStore::AppendAudit(const iam::AuditRecord& audit) {
  return AuditedWrite(audit, [](Connection&) { return absl::OkStatus(); },
      std::nullopt);
}

absl::StatusOr<std::vector<iam::AuditRecord>> SqlStore::ListAudit(
    int64_t after_seq, int64_t limit) {
  if (limit < 0) return absl::InvalidArgumentError("limit must be >= 0");
  static const std::string kSql =
      absl::StrCat("SELECT ", kAuditColumns,
                   " FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?");
  std::vector<iam::AuditRecord> out;
  KW_RETURN_IF_ERROR(Read([&](Connection& db) -> absl::Status {
    KW_ASSIGN_OR_RETURN(Statement st, db.Prepare(kSql));
    st.BindInt64(1, after_seq);
    st.BindInt64(2, limit);
    while (true) {
      KW_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) return absl::OkStatus();
      KW_ASSIGN_OR_RETURN(iam::AuditRecord record, ReadAuditRow(st));
      out.push_back(std::move(record));
    }
  }));
  return out;
}

absl::Status SqlStore::VerifyAuditChain() {
  // One statement, one snapshot: appends that commit meanwhile are not
  // seen, so they cannot look like a break in the chain.
  static const std::string kSql =
      absl::StrCat("SELECT ", kAuditColumns, " FROM audit_log ORDER BY seq");
  return Read([&](Connection& db) -> absl::Status {
    KW_ASSIGN_OR_RETURN(Statement st, db.Prepare(kSql));
    AuditChainVerifier verifier;
    while (true) {
      KW_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) return absl::OkStatus();
      KW_ASSIGN_OR_RETURN(iam::AuditRecord record, ReadAuditRow(st));
      KW_RETURN_IF_ERROR(verifier.Next(record));
    }
  });
}

}  // namespace keywarden::store
