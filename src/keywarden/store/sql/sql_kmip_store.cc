// SqlStore's KMIP tables of migration 0005 (SQLite) / postgres 0002
// (docs/formats/storage-schema.md): adapters, client certificates, objects.
// Statements are borrowed one at a time (each in its own block), as
// Connection::Prepare requires.

#include <algorithm>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "keywarden/common/strings.h"
#include "keywarden/common/status_macros.h"
#include "keywarden/store/identity_validation.h"
#include "keywarden/store/kmip_store.h"
#include "keywarden/store/sql/sql_connection.h"
#include "keywarden/store/sql/sql_internal.h"
#include "keywarden/store/sql/sql_store.h"
#include "keywarden/store/sql/tags_codec.h"

namespace keywarden::store {

using sql_internal::BuiltQuery;
using sql_internal::Connection;
using sql_internal::InsertInstance;
using sql_internal::Statement;

namespace {

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
std::string BlobString(const Statement& st, int column) {
  std::vector<uint8_t> b = st.Blob(column);
  return std::string(b.begin(), b.end());
}

absl::StatusOr<int64_t> Count(Connection& db, const BuiltQuery& q) {
  KW_ASSIGN_OR_RETURN(Statement st, db.Prepare(q.sql));
  int index = 1;
  q.Bind(st, index);
  KW_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return absl::InternalError("sql: COUNT returned no row");
  return st.Int64(0);
}

absl::Status ValidateName(std::string_view what, std::string_view value,
                          size_t max) {
  if (value.size() > max) {
    return absl::InvalidArgumentError(
        StrCat(what, " is longer than ", max, " bytes"));
  }
  return absl::OkStatus();
}

absl::Status ValidateAdapter(const KmipAdapter& a) {
  if (a.instance_id.empty() || a.id.empty() || a.name.empty() ||
      a.crk_id.empty() || a.profile.empty()) {
    return absl::InvalidArgumentError(
        "KMIP adapter needs an instance, id, name, profile and root key");
  }
  KW_RETURN_IF_ERROR(ValidateName("KMIP adapter name", a.name, 40));
  return ValidateName("KMIP adapter description", a.description, 240);
}

absl::Status ValidateCertificate(const KmipCertificate& c) {
  if (c.instance_id.empty() || c.adapter_id.empty() || c.id.empty() ||
      c.name.empty() || c.pem.empty() || c.fingerprint.size() != 64) {
    return absl::InvalidArgumentError(
        "KMIP certificate needs an instance, adapter, id, name, PEM and a "
        "SHA-256 fingerprint");
  }
  return ValidateName("KMIP certificate name", c.name, 40);
}

absl::Status ValidateObject(const KmipObject& o) {
  if (o.instance_id.empty() || o.adapter_id.empty() || o.id.empty()) {
    return absl::InvalidArgumentError(
        "KMIP object needs an instance, adapter and id");
  }
  if (o.state < 1 || o.state > 6) {
    return absl::InvalidArgumentError("KMIP object state must be 1 to 6");
  }
  return absl::OkStatus();
}

constexpr char kAdapterColumns[] =
    "instance_id, id, name, description, profile, crk_id, created_at,"
    " created_by, updated_at, updated_by";

KmipAdapter ReadAdapter(const Statement& st) {
  KmipAdapter a;
  a.instance_id = st.Text(0);
  a.id = st.Text(1);
  a.name = st.Text(2);
  a.description = st.Text(3);
  a.profile = st.Text(4);
  a.crk_id = st.Text(5);
  a.created_at = st.Time(6);
  a.created_by = st.Text(7);
  a.updated_at = st.Time(8);
  a.updated_by = st.Text(9);
  return a;
}

constexpr char kCertificateColumns[] =
    "instance_id, adapter_id, id, name, pem, fingerprint, created_at,"
    " created_by";

KmipCertificate ReadCertificate(const Statement& st) {
  KmipCertificate c;
  c.instance_id = st.Text(0);
  c.adapter_id = st.Text(1);
  c.id = st.Text(2);
  c.name = st.Text(3);
  c.pem = st.Text(4);
  c.fingerprint = st.Text(5);
  c.created_at = st.Time(6);
  c.created_by = st.Text(7);
  return c;
}

constexpr char kObjectColumns[] =
    "instance_id, adapter_id, id, object_type, algorithm, length, key_format,"
    " state, names, attributes, sealed_material, revision, created_at,"
    " created_by_cert_id, updated_at, updated_by_cert_id, destroyed_at,"
    " destroyed_by_cert_id";

absl::StatusOr<KmipObject> ReadObject(const Statement& st) {
  KmipObject o;
  o.instance_id = st.Text(0);
  o.adapter_id = st.Text(1);
  o.id = st.Text(2);
  o.object_type = static_cast<int32_t>(st.Int64(3));
  if (!st.IsNull(4)) o.algorithm = static_cast<int32_t>(st.Int64(4));
  if (!st.IsNull(5)) o.length = static_cast<int32_t>(st.Int64(5));
  o.key_format = static_cast<int32_t>(st.Int64(6));
  o.state = static_cast<int32_t>(st.Int64(7));
  KW_ASSIGN_OR_RETURN(o.names, sql_internal::DecodeTags(st.Text(8)));
  o.attributes = BlobString(st, 9);
  o.sealed_material = BlobString(st, 10);
  o.revision = st.Int64(11);
  o.created_at = st.Time(12);
  o.created_by_cert_id = st.Text(13);
  o.updated_at = st.Time(14);
  o.updated_by_cert_id = st.Text(15);
  o.destroyed_at = st.OptionalTime(16);
  o.destroyed_by_cert_id = st.Text(17);
  return o;
}

void BindOptionalInt(Statement& st, int index, std::optional<int32_t> v) {
  if (v.has_value()) {
    st.BindInt64(index, *v);
  } else {
    st.BindNull(index);
  }
}

// The WHERE clause of a KmipObjectQuery except names (filtered after the
// query, on the decoded list).
BuiltQuery ObjectWhere(const KmipObjectQuery& q) {
  BuiltQuery b;
  b.sql = " WHERE instance_id = ? AND adapter_id = ?";
  b.args.emplace_back(q.instance_id);
  b.args.emplace_back(q.adapter_id);
  if (!q.states.empty()) {
    b.sql += " AND state IN (";
    for (size_t i = 0; i < q.states.size(); ++i) {
      b.sql += i == 0 ? "?" : ", ?";
      b.args.emplace_back(int64_t{q.states[i]});
    }
    b.sql += ")";
  }
  if (q.object_type) {
    b.sql += " AND object_type = ?";
    b.args.emplace_back(int64_t{*q.object_type});
  }
  if (q.algorithm) {
    b.sql += " AND algorithm = ?";
    b.args.emplace_back(int64_t{*q.algorithm});
  }
  if (q.length) {
    b.sql += " AND length = ?";
    b.args.emplace_back(int64_t{*q.length});
  }
  return b;
}

bool HasNames(const KmipObject& o, const std::vector<std::string>& names) {
  for (const std::string& n : names) {
    if (std::find(o.names.begin(), o.names.end(), n) == o.names.end()) {
      return false;
    }
  }
  return true;
}

}  // namespace

// Every write below passes change=nullopt to the change feed: no node caches
// adapters, certificates or KMIP objects (each KMIP request and each REST
// call reads them from the store), so other nodes have nothing to forget.

// ---- adapters

absl::Status SqlStore::CreateKmipAdapter(const KmipAdapter& adapter,
                                         int64_t max_adapters,
                                         const iam::AuditRecord& audit) {
  KW_RETURN_IF_ERROR(ValidateAdapter(adapter));
  return AuditedWrite(audit, [&](Connection& db) -> absl::Status {
    KW_RETURN_IF_ERROR(InsertInstance(db, adapter.instance_id));
    BuiltQuery count{"SELECT COUNT(*) FROM kmip_adapters WHERE instance_id = ?",
                     {adapter.instance_id}};
    KW_ASSIGN_OR_RETURN(int64_t n, Count(db, count));
    if (n >= max_adapters) {
      return absl::ResourceExhaustedError(
          "too many KMIP adapters in the instance");
    }
    KW_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare(StrCat("INSERT INTO kmip_adapters (", kAdapterColumns,
                                ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")));
    st.set_constraint_is_duplicate(true);
    st.BindText(1, adapter.instance_id);
    st.BindText(2, adapter.id);
    st.BindText(3, adapter.name);
    st.BindText(4, adapter.description);
    st.BindText(5, adapter.profile);
    st.BindText(6, adapter.crk_id);
    st.BindTime(7, adapter.created_at);
    st.BindText(8, adapter.created_by);
    st.BindTime(9, adapter.updated_at);
    st.BindText(10, adapter.updated_by);
    return st.Run();
  }, Change::Of(Change::Kind::kKmip));  // KmipCache on other nodes
}

absl::StatusOr<KmipAdapter> SqlStore::GetKmipAdapter(
    std::string_view instance_id, std::string_view id_or_name) {
  std::optional<KmipAdapter> out;
  KW_RETURN_IF_ERROR(Read([&](Connection& db) -> absl::Status {
    for (const char* column : {"id", "name"}) {
      KW_ASSIGN_OR_RETURN(
          Statement st,
          db.Prepare(StrCat("SELECT ", kAdapterColumns,
                                  " FROM kmip_adapters WHERE instance_id = ?"
                                  " AND ",
                                  column, " = ?")));
      st.BindText(1, instance_id);
      st.BindText(2, id_or_name);
      KW_ASSIGN_OR_RETURN(bool row, st.Step());
      if (row) {
        out = ReadAdapter(st);
        return absl::OkStatus();
      }
    }
    return absl::OkStatus();
  }));
  if (!out) return absl::NotFoundError("KMIP adapter not found");
  return *std::move(out);
}

absl::StatusOr<std::vector<KmipAdapter>> SqlStore::ListKmipAdapters(
    std::string_view instance_id, std::string_view crk_id, int64_t limit,
    int64_t offset) {
  std::vector<KmipAdapter> out;
  KW_RETURN_IF_ERROR(Read([&](Connection& db) -> absl::Status {
    std::string sql = StrCat("SELECT ", kAdapterColumns,
                                   " FROM kmip_adapters WHERE instance_id = ?");
    if (!crk_id.empty()) sql += " AND crk_id = ?";
    sql += " ORDER BY created_at, id LIMIT ? OFFSET ?";
    KW_ASSIGN_OR_RETURN(Statement st, db.Prepare(sql));
    int i = 1;
    st.BindText(i++, instance_id);
    if (!crk_id.empty()) st.BindText(i++, crk_id);
    st.BindInt64(i++, limit);
    st.BindInt64(i++, offset);
    while (true) {
      KW_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) return absl::OkStatus();
      out.push_back(ReadAdapter(st));
    }
  }));
  return out;
}

absl::StatusOr<int64_t> SqlStore::CountKmipAdapters(
    std::string_view instance_id, std::string_view crk_id) {
  int64_t n = 0;
  KW_RETURN_IF_ERROR(Read([&](Connection& db) -> absl::Status {
    BuiltQuery q{"SELECT COUNT(*) FROM kmip_adapters WHERE instance_id = ?",
                 {std::string(instance_id)}};
    if (!crk_id.empty()) {
      q.sql += " AND crk_id = ?";
      q.args.emplace_back(std::string(crk_id));
    }
    KW_ASSIGN_OR_RETURN(n, Count(db, q));
    return absl::OkStatus();
  }));
  return n;
}

absl::Status SqlStore::DeleteKmipAdapter(std::string_view instance_id,
                                         std::string_view adapter_id,
                                         const iam::AuditRecord& audit) {
  return AuditedWrite(audit, [&](Connection& db) -> absl::Status {
    BuiltQuery exists{
        "SELECT COUNT(*) FROM kmip_adapters WHERE instance_id = ? AND id = ?",
        {std::string(instance_id), std::string(adapter_id)}};
    KW_ASSIGN_OR_RETURN(int64_t n, Count(db, exists));
    if (n == 0) return absl::NotFoundError("KMIP adapter not found");
    BuiltQuery live{
        "SELECT COUNT(*) FROM kmip_objects WHERE instance_id = ?"
        " AND adapter_id = ? AND state IN (1, 2, 3, 4)",
        {std::string(instance_id), std::string(adapter_id)}};
    KW_ASSIGN_OR_RETURN(int64_t objects, Count(db, live));
    if (objects > 0) {
      return absl::FailedPreconditionError(
          "the KMIP adapter still holds objects that are not destroyed");
    }
    // Certificates and destroyed objects go with it (ON DELETE CASCADE).
    KW_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare(
            "DELETE FROM kmip_adapters WHERE instance_id = ? AND id = ?"));
    st.BindText(1, instance_id);
    st.BindText(2, adapter_id);
    return st.Run();
  }, Change::Of(Change::Kind::kKmip));  // KmipCache on other nodes
}

// ---- certificates

absl::Status SqlStore::CreateKmipCertificate(
    const KmipCertificate& certificate, int64_t max_certificates,
    const iam::AuditRecord& audit) {
  KW_RETURN_IF_ERROR(ValidateCertificate(certificate));
  return AuditedWrite(audit, [&](Connection& db) -> absl::Status {
    BuiltQuery exists{
        "SELECT COUNT(*) FROM kmip_adapters WHERE instance_id = ? AND id = ?",
        {certificate.instance_id, certificate.adapter_id}};
    KW_ASSIGN_OR_RETURN(int64_t n, Count(db, exists));
    if (n == 0) return absl::NotFoundError("KMIP adapter not found");
    BuiltQuery count{
        "SELECT COUNT(*) FROM kmip_certificates WHERE instance_id = ?"
        " AND adapter_id = ?",
        {certificate.instance_id, certificate.adapter_id}};
    KW_ASSIGN_OR_RETURN(int64_t certs, Count(db, count));
    if (certs >= max_certificates) {
      return absl::ResourceExhaustedError(
          "too many client certificates in the KMIP adapter");
    }
    KW_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare(StrCat("INSERT INTO kmip_certificates (",
                                kCertificateColumns,
                                ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)")));
    st.set_constraint_is_duplicate(true);
    st.BindText(1, certificate.instance_id);
    st.BindText(2, certificate.adapter_id);
    st.BindText(3, certificate.id);
    st.BindText(4, certificate.name);
    st.BindText(5, certificate.pem);
    st.BindText(6, certificate.fingerprint);
    st.BindTime(7, certificate.created_at);
    st.BindText(8, certificate.created_by);
    return st.Run();
  }, Change::Of(Change::Kind::kKmip));  // KmipCache on other nodes
}

absl::StatusOr<KmipCertificate> SqlStore::GetKmipCertificate(
    std::string_view instance_id, std::string_view adapter_id,
    std::string_view id_or_name) {
  std::optional<KmipCertificate> out;
  KW_RETURN_IF_ERROR(Read([&](Connection& db) -> absl::Status {
    for (const char* column : {"id", "name"}) {
      KW_ASSIGN_OR_RETURN(
          Statement st,
          db.Prepare(StrCat("SELECT ", kCertificateColumns,
                                  " FROM kmip_certificates WHERE instance_id"
                                  " = ? AND adapter_id = ? AND ",
                                  column, " = ?")));
      st.BindText(1, instance_id);
      st.BindText(2, adapter_id);
      st.BindText(3, id_or_name);
      KW_ASSIGN_OR_RETURN(bool row, st.Step());
      if (row) {
        out = ReadCertificate(st);
        return absl::OkStatus();
      }
    }
    return absl::OkStatus();
  }));
  if (!out) return absl::NotFoundError("KMIP client certificate not found");
  return *std::move(out);
}

absl::StatusOr<KmipCertificate> SqlStore::FindKmipCertificate(
    std::string_view fingerprint) {
  std::optional<KmipCertificate> out;
  KW_RETURN_IF_ERROR(Read([&](Connection& db) -> absl::Status {
    KW_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare(StrCat("SELECT ", kCertificateColumns,
                                " FROM kmip_certificates WHERE fingerprint"
                                " = ?")));
    st.BindText(1, fingerprint);
    KW_ASSIGN_OR_RETURN(bool row, st.Step());
    if (row) out = ReadCertificate(st);
    return absl::OkStatus();
  }));
  if (!out) return absl::NotFoundError("KMIP client certificate not found");
  return *std::move(out);
}

absl::StatusOr<std::vector<KmipCertificate>> SqlStore::ListKmipCertificates(
    std::string_view instance_id, std::string_view adapter_id, int64_t limit,
    int64_t offset) {
  std::vector<KmipCertificate> out;
  KW_RETURN_IF_ERROR(Read([&](Connection& db) -> absl::Status {
    KW_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare(StrCat(
            "SELECT ", kCertificateColumns,
            " FROM kmip_certificates WHERE instance_id = ? AND adapter_id = ?"
            " ORDER BY created_at, id LIMIT ? OFFSET ?")));
    st.BindText(1, instance_id);
    st.BindText(2, adapter_id);
    st.BindInt64(3, limit);
    st.BindInt64(4, offset);
    while (true) {
      KW_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) return absl::OkStatus();
      out.push_back(ReadCertificate(st));
    }
  }));
  return out;
}

absl::StatusOr<int64_t> SqlStore::CountKmipCertificates(
    std::string_view instance_id, std::string_view adapter_id) {
  int64_t n = 0;
  KW_RETURN_IF_ERROR(Read([&](Connection& db) -> absl::Status {
    BuiltQuery q{
        "SELECT COUNT(*) FROM kmip_certificates WHERE instance_id = ?"
        " AND adapter_id = ?",
        {std::string(instance_id), std::string(adapter_id)}};
    KW_ASSIGN_OR_RETURN(n, Count(db, q));
    return absl::OkStatus();
  }));
  return n;
}

absl::Status SqlStore::DeleteKmipCertificate(std::string_view instance_id,
                                             std::string_view adapter_id,
                                             std::string_view id,
                                             const iam::AuditRecord& audit) {
  return AuditedWrite(audit, [&](Connection& db) -> absl::Status {
    KW_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare("DELETE FROM kmip_certificates WHERE instance_id = ?"
                   " AND adapter_id = ? AND id = ?"));
    st.BindText(1, instance_id);
    st.BindText(2, adapter_id);
    st.BindText(3, id);
    KW_RETURN_IF_ERROR(st.Run());
    if (db.Changes() == 0) {
      return absl::NotFoundError("KMIP client certificate not found");
    }
    return absl::OkStatus();
  }, Change::Of(Change::Kind::kKmip));  // KmipCache on other nodes
}

// ---- objects

absl::Status SqlStore::CreateKmipObject(
    const KmipObject& object, const std::optional<iam::AuditRecord>& audit) {
  KW_RETURN_IF_ERROR(ValidateObject(object));
  if (audit.has_value()) KW_RETURN_IF_ERROR(ValidateAuditRecord(*audit));
  return WriteTransaction([&](Connection& db) -> absl::Status {
    BuiltQuery exists{
        "SELECT COUNT(*) FROM kmip_adapters WHERE instance_id = ? AND id = ?",
        {object.instance_id, object.adapter_id}};
    KW_ASSIGN_OR_RETURN(int64_t n, Count(db, exists));
    if (n == 0) return absl::NotFoundError("KMIP adapter not found");
    {
      KW_ASSIGN_OR_RETURN(
          Statement st,
          db.Prepare(StrCat("INSERT INTO kmip_objects (", kObjectColumns,
                                  ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
                                  " ?, ?, ?, ?, ?, ?, ?)")));
      st.set_constraint_is_duplicate(true);
      st.BindText(1, object.instance_id);
      st.BindText(2, object.adapter_id);
      st.BindText(3, object.id);
      st.BindInt64(4, object.object_type);
      BindOptionalInt(st, 5, object.algorithm);
      BindOptionalInt(st, 6, object.length);
      st.BindInt64(7, object.key_format);
      st.BindInt64(8, object.state);
      st.BindText(9, sql_internal::EncodeTags(object.names));
      st.BindBlob(10, Bytes(object.attributes));
      st.BindBlob(11, Bytes(object.sealed_material));
      st.BindInt64(12, object.revision);
      st.BindTime(13, object.created_at);
      st.BindText(14, object.created_by_cert_id);
      st.BindTime(15, object.updated_at);
      st.BindText(16, object.updated_by_cert_id);
      st.BindOptionalTime(17, object.destroyed_at);
      st.BindText(18, object.destroyed_by_cert_id);
      KW_RETURN_IF_ERROR(st.Run());
    }
    if (audit.has_value()) {
      KW_RETURN_IF_ERROR(sql_internal::AppendAuditRow(db, *audit));
    }
    return absl::OkStatus();
  }, /*change=*/std::nullopt);  // a new object: cached nowhere yet
}

absl::StatusOr<KmipObject> SqlStore::GetKmipObject(
    std::string_view instance_id, std::string_view adapter_id,
    std::string_view id) {
  std::optional<KmipObject> out;
  KW_RETURN_IF_ERROR(Read([&](Connection& db) -> absl::Status {
    KW_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare(StrCat("SELECT ", kObjectColumns,
                                " FROM kmip_objects WHERE instance_id = ?"
                                " AND adapter_id = ? AND id = ?")));
    st.BindText(1, instance_id);
    st.BindText(2, adapter_id);
    st.BindText(3, id);
    KW_ASSIGN_OR_RETURN(bool row, st.Step());
    if (row) {
      KW_ASSIGN_OR_RETURN(out, ReadObject(st));
    }
    return absl::OkStatus();
  }));
  if (!out) return absl::NotFoundError("KMIP object not found");
  return *std::move(out);
}

absl::Status SqlStore::UpdateKmipObject(
    const KmipObject& object, const std::optional<iam::AuditRecord>& audit) {
  KW_RETURN_IF_ERROR(ValidateObject(object));
  if (audit.has_value()) KW_RETURN_IF_ERROR(ValidateAuditRecord(*audit));
  return WriteTransaction([&](Connection& db) -> absl::Status {
    {
      KW_ASSIGN_OR_RETURN(
          Statement st,
          db.Prepare("UPDATE kmip_objects SET algorithm = ?, length = ?,"
                     " key_format = ?, state = ?, names = ?, attributes = ?,"
                     " sealed_material = ?, revision = ?, updated_at = ?,"
                     " updated_by_cert_id = ?, destroyed_at = ?,"
                     " destroyed_by_cert_id = ? WHERE instance_id = ?"
                     " AND adapter_id = ? AND id = ? AND revision = ?"));
      BindOptionalInt(st, 1, object.algorithm);
      BindOptionalInt(st, 2, object.length);
      st.BindInt64(3, object.key_format);
      st.BindInt64(4, object.state);
      st.BindText(5, sql_internal::EncodeTags(object.names));
      st.BindBlob(6, Bytes(object.attributes));
      st.BindBlob(7, Bytes(object.sealed_material));
      st.BindInt64(8, object.revision);
      st.BindTime(9, object.updated_at);
      st.BindText(10, object.updated_by_cert_id);
      st.BindOptionalTime(11, object.destroyed_at);
      st.BindText(12, object.destroyed_by_cert_id);
      st.BindText(13, object.instance_id);
      st.BindText(14, object.adapter_id);
      st.BindText(15, object.id);
      st.BindInt64(16, object.revision - 1);
      KW_RETURN_IF_ERROR(st.Run());
    }
    if (db.Changes() == 0) {
      BuiltQuery exists{
          "SELECT COUNT(*) FROM kmip_objects WHERE instance_id = ?"
          " AND adapter_id = ? AND id = ?",
          {object.instance_id, object.adapter_id, object.id}};
      KW_ASSIGN_OR_RETURN(int64_t n, Count(db, exists));
      if (n == 0) return absl::NotFoundError("KMIP object not found");
      return absl::AbortedError("the KMIP object changed concurrently");
    }
    if (audit.has_value()) {
      KW_RETURN_IF_ERROR(sql_internal::AppendAuditRow(db, *audit));
    }
    return absl::OkStatus();
  }, Change::Of(Change::Kind::kKmip));  // KmipCache on other nodes
}

absl::StatusOr<std::vector<KmipObject>> SqlStore::ListKmipObjects(
    const KmipObjectQuery& query) {
  std::vector<KmipObject> out;
  KW_RETURN_IF_ERROR(Read([&](Connection& db) -> absl::Status {
    BuiltQuery q = ObjectWhere(query);
    std::string sql = StrCat("SELECT ", kObjectColumns,
                                   " FROM kmip_objects", q.sql,
                                   " ORDER BY created_at, id");
    if (query.names.empty()) sql += " LIMIT ? OFFSET ?";
    KW_ASSIGN_OR_RETURN(Statement st, db.Prepare(sql));
    int index = 1;
    q.Bind(st, index);
    if (query.names.empty()) {
      st.BindInt64(index++, query.limit);
      st.BindInt64(index++, query.offset);
    }
    int64_t skipped = 0;
    while (static_cast<int64_t>(out.size()) < query.limit) {
      KW_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      KW_ASSIGN_OR_RETURN(KmipObject o, ReadObject(st));
      if (!query.names.empty()) {
        if (!HasNames(o, query.names)) continue;
        if (skipped++ < query.offset) continue;
      }
      out.push_back(std::move(o));
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<int64_t> SqlStore::CountKmipObjects(
    const KmipObjectQuery& query) {
  if (!query.names.empty()) {
    KmipObjectQuery all = query;
    all.limit = std::numeric_limits<int64_t>::max();
    all.offset = 0;
    KW_ASSIGN_OR_RETURN(std::vector<KmipObject> found, ListKmipObjects(all));
    return static_cast<int64_t>(found.size());
  }
  int64_t n = 0;
  KW_RETURN_IF_ERROR(Read([&](Connection& db) -> absl::Status {
    BuiltQuery q = ObjectWhere(query);
    q.sql = StrCat("SELECT COUNT(*) FROM kmip_objects", q.sql);
    KW_ASSIGN_OR_RETURN(n, Count(db, q));
    return absl::OkStatus();
  }));
  return n;
}

}  // namespace keywarden::store
