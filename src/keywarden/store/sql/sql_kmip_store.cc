// SqlStore's KMIP tables of migration 0005 (SQLite) / postgres 0002
// (docs/formats/storage-schema.md): adapters, client certificates, objects.
// Statements are borrowed one at a time (each in its own block), as
// Connection::Prepare requires.

#include <cstdint>
#include <initializer_list>
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
using sql_internal::Dialect;
using sql_internal::InsertInstance;
using sql_internal::Statement;

namespace {

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Reads a row's columns left to right, in the order of its k*Columns list,
// so that a reader names no column index.
class Row {
 public:
  explicit Row(const Statement& st) : st_(st) {}

  std::string Text() { return st_.Text(next_++); }
  std::string Blob() {
    std::vector<uint8_t> b = st_.Blob(next_++);
    return std::string(b.begin(), b.end());
  }
  int64_t Int64() { return st_.Int64(next_++); }
  int32_t Int32() { return static_cast<int32_t>(st_.Int64(next_++)); }
  std::optional<int32_t> OptionalInt32() {
    const int column = next_++;
    if (st_.IsNull(column)) return std::nullopt;
    return static_cast<int32_t>(st_.Int64(column));
  }
  absl::Time Time() { return st_.Time(next_++); }
  std::optional<absl::Time> OptionalTime() { return st_.OptionalTime(next_++); }

 private:
  const Statement& st_;
  int next_ = 0;
};

// A row reader: ReadAdapter, ReadCertificate, ReadObject.
template <typename T>
using RowReader = absl::StatusOr<T> (*)(const Statement&);

// Appends every row of `st`, as `read` reads it, to `out`.
template <typename T>
absl::Status ReadAll(Statement& st, RowReader<T> read, std::vector<T>& out) {
  while (true) {
    KW_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return absl::OkStatus();
    KW_ASSIGN_OR_RETURN(T item, read(st));
    out.push_back(std::move(item));
  }
}

// The first row of `st`, if there is one.
template <typename T>
absl::Status ReadFirst(Statement& st, RowReader<T> read, std::optional<T>& out) {
  KW_ASSIGN_OR_RETURN(bool row, st.Step());
  if (row) {
    KW_ASSIGN_OR_RETURN(out, read(st));
  }
  return absl::OkStatus();
}

// The row of `select` (which ends in "AND ") whose id, else whose name, is
// `id_or_name`; `scope` binds the parameters before it. Adapters and
// certificates are named by either (kmip_store.h).
template <typename T>
absl::Status ReadByIdOrName(Connection& db, std::string_view select,
                            std::initializer_list<std::string_view> scope,
                            std::string_view id_or_name, RowReader<T> read,
                            std::optional<T>& out) {
  for (const char* column : {"id", "name"}) {
    KW_ASSIGN_OR_RETURN(Statement st,
                        db.Prepare(StrCat(select, column, " = ?")));
    int index = 1;
    for (std::string_view v : scope) st.BindText(index++, v);
    st.BindText(index, id_or_name);
    KW_RETURN_IF_ERROR(ReadFirst(st, read, out));
    if (out) return absl::OkStatus();
  }
  return absl::OkStatus();
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

// RFC 3629 UTF-8 (no overlong forms, no surrogates, at most U+10FFFF),
// what a KMIP Text String is, without U+0000, which neither SQLite's JSON
// functions nor PostgreSQL's text can hold (ObjectWhere matches names as
// text).
bool IsNameText(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n;
    uint32_t cp;
    if (c == 0) return false;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (s.size() - i <= n) return false;
    for (size_t k = 1; k <= n; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

absl::Status ValidateObject(const KmipObject& o) {
  if (o.instance_id.empty() || o.adapter_id.empty() || o.id.empty()) {
    return absl::InvalidArgumentError(
        "KMIP object needs an instance, adapter and id");
  }
  if (o.state < 1 || o.state > 6) {
    return absl::InvalidArgumentError("KMIP object state must be 1 to 6");
  }
  // Locate reads the names in SQL (ObjectWhere), as text.
  for (const std::string& name : o.names) {
    if (!IsNameText(name)) {
      return absl::InvalidArgumentError(
          "KMIP object names must be UTF-8 without U+0000");
    }
  }
  return absl::OkStatus();
}

constexpr char kAdapterColumns[] =
    "instance_id, id, name, description, profile, crk_id, created_at,"
    " created_by, updated_at, updated_by";

absl::StatusOr<KmipAdapter> ReadAdapter(const Statement& st) {
  Row r(st);
  KmipAdapter a;
  a.instance_id = r.Text();
  a.id = r.Text();
  a.name = r.Text();
  a.description = r.Text();
  a.profile = r.Text();
  a.crk_id = r.Text();
  a.created_at = r.Time();
  a.created_by = r.Text();
  a.updated_at = r.Time();
  a.updated_by = r.Text();
  return a;
}

constexpr char kCertificateColumns[] =
    "instance_id, adapter_id, id, name, pem, fingerprint, created_at,"
    " created_by";

absl::StatusOr<KmipCertificate> ReadCertificate(const Statement& st) {
  Row r(st);
  KmipCertificate c;
  c.instance_id = r.Text();
  c.adapter_id = r.Text();
  c.id = r.Text();
  c.name = r.Text();
  c.pem = r.Text();
  c.fingerprint = r.Text();
  c.created_at = r.Time();
  c.created_by = r.Text();
  return c;
}

constexpr char kObjectColumns[] =
    "instance_id, adapter_id, id, object_type, algorithm, length, key_format,"
    " state, names, attributes, sealed_material, revision, created_at,"
    " created_by_cert_id, updated_at, updated_by_cert_id, destroyed_at,"
    " destroyed_by_cert_id";

absl::StatusOr<KmipObject> ReadObject(const Statement& st) {
  Row r(st);
  KmipObject o;
  o.instance_id = r.Text();
  o.adapter_id = r.Text();
  o.id = r.Text();
  o.object_type = r.Int32();
  o.algorithm = r.OptionalInt32();
  o.length = r.OptionalInt32();
  o.key_format = r.Int32();
  o.state = r.Int32();
  KW_ASSIGN_OR_RETURN(o.names, sql_internal::DecodeTags(r.Text()));
  o.attributes = r.Blob();
  o.sealed_material = r.Blob();
  o.revision = r.Int64();
  o.created_at = r.Time();
  o.created_by_cert_id = r.Text();
  o.updated_at = r.Time();
  o.updated_by_cert_id = r.Text();
  o.destroyed_at = r.OptionalTime();
  o.destroyed_by_cert_id = r.Text();
  return o;
}

void BindOptionalInt(Statement& st, int index, std::optional<int32_t> v) {
  if (v.has_value()) {
    st.BindInt64(index, *v);
  } else {
    st.BindNull(index);
  }
}

// The WHERE clause of a KmipObjectQuery, names included, so that Locate's
// Maximum Items is the query's LIMIT.
//
// Names are matched in the names column's JSON array (tags_codec.h), parsed
// by the database, never by substring (a name may hold `,` and `"`).
// SQLite compares each decoded element's bytes with the name's. PostgreSQL
// keeps the column as bytea: it reads it as json (not jsonb, which rejects
// \u0000) and compares each element's text as written (json keeps it) with
// the name as EncodeTags writes it, so nothing is unescaped. Names are
// UTF-8 without U+0000 (ValidateObject), so convert_from never fails on a
// stored row and both dialects compare the same text.
BuiltQuery ObjectWhere(const KmipObjectQuery& q, Dialect dialect) {
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
  for (const std::string& name : q.names) {
    if (dialect == Dialect::kSqlite) {
      b.sql +=
          " AND EXISTS (SELECT 1 FROM json_each(names) n"
          " WHERE CAST(n.value AS BLOB) = ?)";
      b.args.emplace_back(BuiltQuery::Bytes{name});
    } else {
      b.sql +=
          " AND EXISTS (SELECT 1 FROM json_array_elements(convert_from("
          "names, 'UTF8')::json) AS n(value) WHERE n.value::text = ?)";
      std::string array = sql_internal::EncodeTags({name});
      b.args.emplace_back(array.substr(1, array.size() - 2));
    }
  }
  return b;
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
    return ReadByIdOrName<KmipAdapter>(
        db,
        StrCat("SELECT ", kAdapterColumns,
               " FROM kmip_adapters WHERE instance_id = ? AND "),
        {instance_id}, id_or_name, ReadAdapter, out);
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
    return ReadAll<KmipAdapter>(st, ReadAdapter, out);
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
    return ReadByIdOrName<KmipCertificate>(
        db,
        StrCat("SELECT ", kCertificateColumns,
               " FROM kmip_certificates WHERE instance_id = ?"
               " AND adapter_id = ? AND "),
        {instance_id, adapter_id}, id_or_name, ReadCertificate, out);
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
    return ReadFirst<KmipCertificate>(st, ReadCertificate, out);
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
    return ReadAll<KmipCertificate>(st, ReadCertificate, out);
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
    return ReadFirst<KmipObject>(st, ReadObject, out);
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
    BuiltQuery q = ObjectWhere(query, db.dialect());
    KW_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare(StrCat("SELECT ", kObjectColumns, " FROM kmip_objects",
                          q.sql, " ORDER BY created_at, id LIMIT ? OFFSET ?")));
    int index = 1;
    q.Bind(st, index);
    st.BindInt64(index++, query.limit);
    st.BindInt64(index++, query.offset);
    return ReadAll<KmipObject>(st, ReadObject, out);
  }));
  return out;
}

absl::StatusOr<int64_t> SqlStore::CountKmipObjects(
    const KmipObjectQuery& query) {
  int64_t n = 0;
  KW_RETURN_IF_ERROR(Read([&](Connection& db) -> absl::Status {
    BuiltQuery q = ObjectWhere(query, db.dialect());
    q.sql = StrCat("SELECT COUNT(*) FROM kmip_objects", q.sql);
    KW_ASSIGN_OR_RETURN(n, Count(db, q));
    return absl::OkStatus();
  }));
  return n;
}

}  // namespace keywarden::store
