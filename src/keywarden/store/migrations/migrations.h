#ifndef KEYWARDEN_STORE_MIGRATIONS_MIGRATIONS_H_
#define KEYWARDEN_STORE_MIGRATIONS_MIGRATIONS_H_

#include <span>
#include <string_view>

namespace keywarden::store {

// One schema migration of a SQL store: the SQL of file
// migrations/NNNN_name.sql (SQLite) or migrations/postgres/NNNN_name.sql
// (PostgreSQL), embedded at build time. Migrations are applied in
// order of `version` and never edited once released (a released database
// already ran them); a schema change is a new file with the next number.
// See docs/formats/storage-schema.md, "Migrations".
struct Migration {
  int version;
  std::string_view name;
  std::string_view sql;
};

// All embedded migrations of SQLite, ordered by version. Versions are 1, 2,
// ..., N without gaps (checked by sql_internal::Migrate and by a unit test).
std::span<const Migration> EmbeddedMigrations();

// The same for PostgreSQL, whose series is numbered on its own.
std::span<const Migration> EmbeddedPostgresMigrations();

}  // namespace keywarden::store

#endif  // KEYWARDEN_STORE_MIGRATIONS_MIGRATIONS_H_
