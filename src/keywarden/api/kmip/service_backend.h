#ifndef KEYWARDEN_API_KMIP_SERVICE_BACKEND_H_
#define KEYWARDEN_API_KMIP_SERVICE_BACKEND_H_

// The product's KMIP backend: KmipObjects and KmipCrypto over the service's
// KMIP adapters (service/kmip_adapters.h). The client's certificate names
// its adapter (a certificate registered to none gets Permission Denied, and
// the listener refuses it in the handshake already); an adapter sees only
// its own objects (another's are Item Not Found). Objects' attributes
// (docs/formats/kmip.md "Stored objects") and KMIP's state machine (KMIP
// 1.4 §3.22: Pre-Active -> Active -> Deactivated/Compromised -> Destroyed)
// live here; their durability and the sealing of their material under the
// adapter's root key are the service's. While the root key is disabled the
// material cannot be opened (Get, Encrypt, ... answer Wrong Key Lifecycle
// State / Illegal Operation); once it is deleted, never again. Thread-safe.

#include "keywarden/api/kmip/messages.h"
#include "keywarden/service/kmip_adapters.h"

namespace keywarden::api::kmip {

class ServiceBackend final : public KmipObjects, public KmipCrypto {
 public:
  explicit ServiceBackend(service::KmipAdapters& adapters)
      : adapters_(adapters) {}

  // Whether a certificate (SHA-256 of its DER, raw) may connect: the
  // listener's accept_certificate.
  bool IsRegistered(std::string_view certificate_sha256);

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

 private:
  service::KmipAdapters& adapters_;
};

}  // namespace keywarden::api::kmip

#endif  // KEYWARDEN_API_KMIP_SERVICE_BACKEND_H_
