#include "keywarden/store/memory/memory_store.h"

#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "keywarden/store/identity_store_conformance_test.h"
#include "keywarden/store/store_conformance_test.h"

namespace keywarden::store {

KW_INSTANTIATE_STORE_CONFORMANCE(
    Memory, (StoreFactory{"Memory",
                          [](const std::string& /*scratch_dir*/)
                              -> absl::StatusOr<std::unique_ptr<Store>> {
                            return std::make_unique<InMemoryStore>();
                          }}));

KW_INSTANTIATE_IDENTITY_STORE_CONFORMANCE(
    Memory,
    (IdentityStoreFactory{"Memory",
                          [](const std::string& /*scratch_dir*/)
                              -> absl::StatusOr<IdentityStoreUnderTest> {
                            return BothInterfaces(
                                absl::StatusOr<std::unique_ptr<InMemoryStore>>(
                                    std::make_unique<InMemoryStore>()));
                          }}));

}  // namespace keywarden::store
