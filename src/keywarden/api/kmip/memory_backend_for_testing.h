#ifndef KEYWARDEN_API_KMIP_MEMORY_BACKEND_FOR_TESTING_H_
#define KEYWARDEN_API_KMIP_MEMORY_BACKEND_FOR_TESTING_H_

// A small in-memory KMIP backend for the protocol layer's tests, the TLS
// server test and the fuzzer. It is not the product's backend (that is the
// service, wired in by the coordinator): objects live in a map, material is
// not sealed, and only what the tests exercise is implemented —
// AES keys and secret data (Create, Register, Get as Raw or Transparent
// Symmetric Key), attributes, Locate, the KMIP state machine (Activate,
// Revoke, Destroy), and Encrypt/Decrypt/MAC with the product's
// cryptography (key_crypto.h). Create Key Pair, Sign and Signature Verify
// answer Unimplemented (Operation Not Supported). Thread-safe.

#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "keywarden/api/kmip/messages.h"
#include "keywarden/common/clock.h"

namespace keywarden::api::kmip {

class MemoryBackendForTesting final : public KmipObjects, public KmipCrypto {
 public:
  explicit MemoryBackendForTesting(const Clock& clock) : clock_(clock) {}

  absl::StatusOr<CreateResponse> Create(const KmipContext& ctx,
                                        const CreateRequest& req) override;
  absl::StatusOr<CreateKeyPairResponse> CreateKeyPair(
      const KmipContext& ctx, const CreateKeyPairRequest& req) override;
  absl::StatusOr<ObjectId> Register(const KmipContext& ctx,
                                    const RegisterRequest& req) override;
  absl::StatusOr<GetResponse> Get(const KmipContext& ctx,
                                  const GetRequest& req) override;
  absl::StatusOr<GetAttributesResponse> GetAttributes(
      const KmipContext& ctx, const GetAttributesRequest& req) override;
  absl::StatusOr<GetAttributeListResponse> GetAttributeList(
      const KmipContext& ctx, const ObjectId& req) override;
  absl::StatusOr<AttributeChangeResponse> AddAttribute(
      const KmipContext& ctx, const AttributeChangeRequest& req) override;
  absl::StatusOr<AttributeChangeResponse> ModifyAttribute(
      const KmipContext& ctx, const AttributeChangeRequest& req) override;
  absl::StatusOr<AttributeChangeResponse> DeleteAttribute(
      const KmipContext& ctx, const DeleteAttributeRequest& req) override;
  absl::StatusOr<LocateResponse> Locate(const KmipContext& ctx,
                                        const LocateRequest& req) override;
  absl::StatusOr<ObjectId> Activate(const KmipContext& ctx,
                                    const ObjectId& req) override;
  absl::StatusOr<ObjectId> Revoke(const KmipContext& ctx,
                                  const RevokeRequest& req) override;
  absl::StatusOr<ObjectId> Destroy(const KmipContext& ctx,
                                   const ObjectId& req) override;

  absl::StatusOr<EncryptResponse> Encrypt(const KmipContext& ctx,
                                          const EncryptRequest& req) override;
  absl::StatusOr<DecryptResponse> Decrypt(const KmipContext& ctx,
                                          const DecryptRequest& req) override;
  absl::StatusOr<MacResponse> Mac(const KmipContext& ctx,
                                  const MacRequest& req) override;
  absl::StatusOr<SignResponse> Sign(const KmipContext& ctx,
                                    const SignRequest& req) override;
  absl::StatusOr<SignatureVerifyResponse> SignatureVerify(
      const KmipContext& ctx, const SignatureVerifyRequest& req) override;

  // The owner (certificate fingerprint) of each object is checked: a client
  // never sees another client's objects (answered as Item Not Found).
  size_t object_count() const;

 private:
  struct Object {
    std::string owner;  // certificate SHA-256 of the creating client
    ManagedObject object;
    AttributeList attributes;  // includes State, Object Type, ...
    State state = State::kPreActive;
  };
  absl::StatusOr<Object*> Find(const KmipContext& ctx, const std::string& id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string Store(const KmipContext& ctx, Object object)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SetState(Object& o, State state) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Clock& clock_;
  mutable absl::Mutex mu_;
  std::map<std::string, Object> objects_ ABSL_GUARDED_BY(mu_);
  int next_id_ ABSL_GUARDED_BY(mu_) = 1;
};

}  // namespace keywarden::api::kmip

#endif  // KEYWARDEN_API_KMIP_MEMORY_BACKEND_FOR_TESTING_H_
