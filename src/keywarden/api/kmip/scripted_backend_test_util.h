#ifndef KEYWARDEN_API_KMIP_SCRIPTED_BACKEND_TEST_UTIL_H_
#define KEYWARDEN_API_KMIP_SCRIPTED_BACKEND_TEST_UTIL_H_

// A backend for codec tests: records the typed request each operation
// received and answers with what the test put in `next_*` (or `error`).
// It checks what the message layer hands to a backend and builds, from a
// known answer, the bytes of a response; behaviour is the in-memory
// backend's job (memory_backend_for_testing.h).

#include <optional>

#include "keywarden/api/kmip/messages.h"

namespace keywarden::api::kmip {

class ScriptedBackend : public KmipObjects, public KmipCrypto {
 public:
  absl::Status error;  // when not OK, every call answers it

  std::optional<CreateRequest> create;
  CreateResponse next_create;
  std::optional<CreateKeyPairRequest> create_key_pair;
  CreateKeyPairResponse next_create_key_pair;
  std::optional<RegisterRequest> reg;
  std::optional<GetRequest> get;
  GetResponse next_get;
  std::optional<GetAttributesRequest> get_attributes;
  GetAttributesResponse next_get_attributes;
  std::optional<ObjectId> get_attribute_list;
  GetAttributeListResponse next_get_attribute_list;
  std::optional<AttributeChangeRequest> add_attribute, modify_attribute;
  std::optional<DeleteAttributeRequest> delete_attribute;
  AttributeChangeResponse next_change;
  std::optional<LocateRequest> locate;
  LocateResponse next_locate;
  std::vector<std::string> activated, destroyed;
  std::optional<RevokeRequest> revoke;
  std::optional<EncryptRequest> encrypt;
  EncryptResponse next_encrypt;
  std::optional<DecryptRequest> decrypt;
  DecryptResponse next_decrypt;
  std::optional<MacRequest> mac;
  MacResponse next_mac;
  std::optional<SignRequest> sign;
  SignResponse next_sign;
  std::optional<SignatureVerifyRequest> verify;
  SignatureVerifyResponse next_verify;
  std::string next_id = "42";

  template <typename T, typename R>
  absl::StatusOr<R> Answer(std::optional<T>& slot, const T& req, const R& res) {
    slot = req;
    if (!error.ok()) return error;
    return res;
  }

  absl::StatusOr<CreateResponse> Create(const KmipContext&, const CreateRequest& r) override {
    return Answer(create, r, next_create);
  }
  absl::StatusOr<CreateKeyPairResponse> CreateKeyPair(const KmipContext&,
                                                      const CreateKeyPairRequest& r) override {
    return Answer(create_key_pair, r, next_create_key_pair);
  }
  absl::StatusOr<ObjectId> Register(const KmipContext&, const RegisterRequest& r) override {
    return Answer(reg, r, ObjectId{next_id});
  }
  absl::StatusOr<GetResponse> Get(const KmipContext&, const GetRequest& r) override {
    return Answer(get, r, next_get);
  }
  absl::StatusOr<GetAttributesResponse> GetAttributes(const KmipContext&,
                                                      const GetAttributesRequest& r) override {
    return Answer(get_attributes, r, next_get_attributes);
  }
  absl::StatusOr<GetAttributeListResponse> GetAttributeList(const KmipContext&,
                                                            const ObjectId& r) override {
    return Answer(get_attribute_list, r, next_get_attribute_list);
  }
  absl::StatusOr<AttributeChangeResponse> AddAttribute(const KmipContext&,
                                                       const AttributeChangeRequest& r) override {
    return Answer(add_attribute, r, next_change);
  }
  absl::StatusOr<AttributeChangeResponse> ModifyAttribute(
      const KmipContext&, const AttributeChangeRequest& r) override {
    return Answer(modify_attribute, r, next_change);
  }
  absl::StatusOr<AttributeChangeResponse> DeleteAttribute(
      const KmipContext&, const DeleteAttributeRequest& r) override {
    return Answer(delete_attribute, r, next_change);
  }
  absl::StatusOr<LocateResponse> Locate(const KmipContext&, const LocateRequest& r) override {
    return Answer(locate, r, next_locate);
  }
  absl::StatusOr<ObjectId> Activate(const KmipContext&, const ObjectId& r) override {
    activated.push_back(r.unique_identifier);
    if (!error.ok()) return error;
    return r;
  }
  absl::StatusOr<ObjectId> Revoke(const KmipContext&, const RevokeRequest& r) override {
    return Answer(revoke, r, ObjectId{r.unique_identifier});
  }
  absl::StatusOr<ObjectId> Destroy(const KmipContext&, const ObjectId& r) override {
    destroyed.push_back(r.unique_identifier);
    if (!error.ok()) return error;
    return r;
  }
  absl::StatusOr<EncryptResponse> Encrypt(const KmipContext&, const EncryptRequest& r) override {
    return Answer(encrypt, r, next_encrypt);
  }
  absl::StatusOr<DecryptResponse> Decrypt(const KmipContext&, const DecryptRequest& r) override {
    return Answer(decrypt, r, next_decrypt);
  }
  absl::StatusOr<MacResponse> Mac(const KmipContext&, const MacRequest& r) override {
    return Answer(mac, r, next_mac);
  }
  absl::StatusOr<SignResponse> Sign(const KmipContext&, const SignRequest& r) override {
    return Answer(sign, r, next_sign);
  }
  absl::StatusOr<SignatureVerifyResponse> SignatureVerify(
      const KmipContext&, const SignatureVerifyRequest& r) override {
    return Answer(verify, r, next_verify);
  }
};

}  // namespace keywarden::api::kmip

#endif  // KEYWARDEN_API_KMIP_SCRIPTED_BACKEND_TEST_UTIL_H_
