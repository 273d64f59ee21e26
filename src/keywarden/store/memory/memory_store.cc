#include "keywarden/store/memory/memory_store.h"

#include <stdio.h>
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <system_error>

namespace keywarden::store {

namespace {

std::string MakeTempDir() {
  std::error_code ec;
  const std::filesystem::path base =
      std::filesystem::is_directory("/dev/shm", ec)
          ? std::filesystem::path("/dev/shm")
          : std::filesystem::temp_directory_path();
  std::string tmpl = (base / "kw-memstore-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) {
    perror("InMemoryStore: mkdtemp");
    abort();
  }
  return tmpl;
}

}  // namespace

InMemoryStore::InMemoryStore() : dir_(MakeTempDir()) {
  SqliteStore::Options options;
  options.read_connections = 2;
  absl::StatusOr<std::unique_ptr<SqliteStore>> store =
      SqliteStore::Open(dir_ + "/keywarden.db", options);
  if (!store.ok()) {
    fprintf(stderr, "InMemoryStore: %s\n",
            std::string(store.status().message()).c_str());
    abort();
  }
  sqlite_ = *std::move(store);
}

InMemoryStore::~InMemoryStore() {
  sqlite_.reset();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

}  // namespace keywarden::store
