#ifndef KEYWARDEN_STORE_MIGRATIONS_MIGRATIONS_H_
#define KEYWARDEN_STORE_MIGRATIONS_MIGRATIONS_H_

#include <span>
#include <string_view>

namespace keywarden::store {

// One schema migration of the SQLite store: the SQL of file
// migrations/NNNN_name.sql, embedded at build time. Migrations are applied in
// order of `version` and never edited once released (a released database
// already ran them); a schema change is a new file with the next number.
// See docs/formats/storage-schema.md, "Migrations".
struct Migration {
  int version;
  std::string_view name;
  std::string_view sql;
};

// All embedded migrations, ordered by version. Versions are 1, 2, ..., N
// without gaps (checked by SqliteStore::Open and by a unit test).
std::span<const Migration> EmbeddedMigrations();

}  // namespace keywarden::store

#endif  // KEYWARDEN_STORE_MIGRATIONS_MIGRATIONS_H_
