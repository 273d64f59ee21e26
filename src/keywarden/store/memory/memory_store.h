#ifndef KEYWARDEN_STORE_MEMORY_MEMORY_STORE_H_
#define KEYWARDEN_STORE_MEMORY_MEMORY_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "keywarden/keys/key.h"
#include "keywarden/store/store.h"

namespace keywarden::store {

// InMemoryStore is a Store kept in process memory, for unit tests of the
// layers above. It is a working fake, not a mock: it follows every rule of
// store.h exactly as SqliteStore does (checked by the shared conformance
// suite), including microsecond time precision and implicit instance
// creation by CreateKey. Nothing is durable. Thread-safe (one mutex).
class InMemoryStore final : public Store {
 public:
  InMemoryStore() = default;
  InMemoryStore(const InMemoryStore&) = delete;
  InMemoryStore& operator=(const InMemoryStore&) = delete;

  absl::Status EnsureInstance(std::string_view instance_id) override;
  absl::Status CreateKey(const keys::Key& key) override;
  absl::Status UpdateKey(const keys::Key& key,
                         absl::Time expected_last_update) override;
  absl::StatusOr<keys::Key> GetKey(std::string_view instance_id,
                                   std::string_view key_id) override;
  absl::StatusOr<std::vector<keys::Key>> ListKeys(
      const KeyQuery& query) override;
  absl::StatusOr<int64_t> CountKeys(const KeyQuery& query) override;
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
  ListExpiredKeys(absl::Time now, int64_t limit) override;
  absl::StatusOr<std::optional<std::string>> GetMeta(
      std::string_view name) override;
  absl::StatusOr<bool> PutMetaIfAbsent(std::string_view name,
                                       std::string_view value) override;

 private:
  // (instance id, key id); ordered so one instance's keys are contiguous
  // and in id order, like the SQLite primary key.
  using KeyRef = std::pair<std::string, std::string>;

  // Keys of `query.instance_id` that pass its filters, in id order.
  std::vector<const keys::Key*> Matching(const KeyQuery& query) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  absl::btree_set<std::string> instances_ ABSL_GUARDED_BY(mu_);
  absl::btree_map<KeyRef, keys::Key> keys_ ABSL_GUARDED_BY(mu_);
  absl::btree_map<std::string, std::string> meta_ ABSL_GUARDED_BY(mu_);
};

}  // namespace keywarden::store

#endif  // KEYWARDEN_STORE_MEMORY_MEMORY_STORE_H_
