#ifndef KEYWARDEN_SERVICE_SEALED_WRITE_H_
#define KEYWARDEN_SERVICE_SEALED_WRITE_H_

#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keywarden/common/errors.h"
#include "keywarden/seal/seal.h"
#include "keywarden/store/reseal_store.h"

namespace keywarden::service {

namespace sealed_write_internal {
inline const absl::Status& StatusOf(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& StatusOf(const absl::StatusOr<T>& s) {
  return s.status();
}
}  // namespace sealed_write_internal

// Runs `attempt`, which seals a secret under `slot`'s current key and
// writes it to the store. When the store refuses the row because a rekey on
// another node retired that key (store::IsRetiredMasterKeyError;
// docs/operations.md "Rekey the master key", Several nodes), learns the
// database's current key (MasterKey::Refresh) and runs `attempt` once more.
// A node that cannot learn the key, or is refused again, answers
// Unavailable (503): nothing was written under the retired key.
template <typename Attempt>
auto WithCurrentMasterKey(const seal::MasterKey& slot, Attempt&& attempt)
    -> std::invoke_result_t<Attempt&> {
  using sealed_write_internal::StatusOf;
  auto result = attempt();
  if (!store::IsRetiredMasterKeyError(StatusOf(result))) return result;
  if (absl::Status learnt = slot.Refresh(); learnt.ok()) {
    result = attempt();
    if (!store::IsRetiredMasterKeyError(StatusOf(result))) return result;
  }
  return Error(Reason::kUnavailable,
               "Service Unavailable: a rekey of the master key finished on "
               "another node and this node has not learnt the new key; "
               "retry, or restart this node with the new key");
}

}  // namespace keywarden::service

#endif  // KEYWARDEN_SERVICE_SEALED_WRITE_H_
