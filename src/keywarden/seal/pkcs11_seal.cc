#include "keywarden/seal/pkcs11_seal.h"

#include <dlfcn.h>
#include <p11-kit/pkcs11.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "keywarden/common/status_macros.h"
#include "keywarden/common/strings.h"
#include "keywarden/crypto/aes_gcm.h"
#include "keywarden/crypto/random.h"

namespace keywarden::seal {
namespace {

constexpr size_t kIvSize = crypto::kGcmNonceSize;
constexpr size_t kTagSize = crypto::kGcmTagSize;
constexpr size_t kMaxWrapped = 1024;

absl::Status CkError(std::string_view function, CK_RV rv) {
  return absl::FailedPreconditionError(
      absl::StrFormat("PKCS#11 %s failed: CKR 0x%08lx", AbslView(function),
                      static_cast<unsigned long>(rv)));
}

// A token label as the token shows it: 32 bytes, blank-padded.
std::string TrimmedLabel(const unsigned char (&label)[32]) {
  std::string s(reinterpret_cast<const char*>(label), sizeof label);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.pop_back();
  return s;
}

class Pkcs11Wrapper final : public KeyWrapper {
 public:
  Pkcs11Wrapper() = default;
  ~Pkcs11Wrapper() override {
    if (fns_ != nullptr) {
      if (session_ != CK_INVALID_HANDLE) {
        fns_->C_Logout(session_);
        fns_->C_CloseSession(session_);
      }
      if (initialized_) fns_->C_Finalize(nullptr);
    }
    if (module_ != nullptr) ::dlclose(module_);
  }
  Pkcs11Wrapper(const Pkcs11Wrapper&) = delete;
  Pkcs11Wrapper& operator=(const Pkcs11Wrapper&) = delete;

  absl::Status Open(const Pkcs11Options& o) {
    if (o.module.empty() || o.token_label.empty() || o.key_label.empty()) {
      return absl::InvalidArgumentError(
          "the pkcs11 seal needs a module, a token label and a key label");
    }
    if (o.token_label.size() > 32) {
      return absl::InvalidArgumentError("a token label has at most 32 bytes");
    }
    module_ = ::dlopen(o.module.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (module_ == nullptr) {
      const char* err = ::dlerror();
      return absl::FailedPreconditionError(
          StrCat("cannot load PKCS#11 module ", o.module, ": ",
                 err != nullptr ? err : "unknown error"));
    }
    auto get_list = reinterpret_cast<CK_C_GetFunctionList>(
        ::dlsym(module_, "C_GetFunctionList"));
    if (get_list == nullptr) {
      return absl::FailedPreconditionError(
          StrCat(o.module, " is not a PKCS#11 module (no C_GetFunctionList)"));
    }
    if (CK_RV rv = get_list(&fns_); rv != CKR_OK || fns_ == nullptr) {
      fns_ = nullptr;
      return CkError("C_GetFunctionList", rv);
    }
    CK_C_INITIALIZE_ARGS args = {};
    args.flags = CKF_OS_LOCKING_OK;
    CK_RV rv = fns_->C_Initialize(&args);
    if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
      return CkError("C_Initialize", rv);
    }
    initialized_ = rv == CKR_OK;
    KW_ASSIGN_OR_RETURN(CK_SLOT_ID slot, FindSlot(o.token_label));
    rv = fns_->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION,
                             nullptr, nullptr, &session_);
    if (rv != CKR_OK) {
      session_ = CK_INVALID_HANDLE;
      return CkError("C_OpenSession", rv);
    }
    // The PIN is copied into the call only; CKR_PIN_INCORRECT says enough.
    rv = fns_->C_Login(session_, CKU_USER,
                       const_cast<unsigned char*>(o.pin.data()),
                       o.pin.size());
    if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
      return CkError("C_Login (user PIN)", rv);
    }
    KW_ASSIGN_OR_RETURN(std::optional<CK_OBJECT_HANDLE> key,
                        FindKey(o.key_label));
    if (!key.has_value()) {
      if (!o.create_key_if_missing) {
        return absl::FailedPreconditionError(
            StrCat("token ", o.token_label, " has no AES key labelled ",
                   o.key_label));
      }
      KW_ASSIGN_OR_RETURN(key, GenerateKey(o.key_label));
    }
    key_ = *key;
    return CheckKeyIsProtected(o.key_label);
  }

  absl::StatusOr<std::vector<uint8_t>> Wrap(
      std::span<const uint8_t> key, std::span<const uint8_t> aad) override {
    std::vector<uint8_t> out(kIvSize + key.size() + kTagSize);
    crypto::RandomBytes(std::span<uint8_t>(out).first(kIvSize));
    std::vector<uint8_t> aad_copy(aad.begin(), aad.end());
    CK_GCM_PARAMS params = {};
    params.iv_ptr = out.data();
    params.iv_len = kIvSize;
    params.iv_bits = kIvSize * 8;
    params.aad_ptr = aad_copy.data();
    params.aad_len = aad_copy.size();
    params.tag_bits = kTagSize * 8;
    CK_MECHANISM mech = {CKM_AES_GCM, &params, sizeof params};
    absl::MutexLock lock(&mu_);
    if (CK_RV rv = fns_->C_EncryptInit(session_, &mech, key_); rv != CKR_OK) {
      return CkError("C_EncryptInit (CKM_AES_GCM)", rv);
    }
    CK_ULONG len = out.size() - kIvSize;
    CK_RV rv = fns_->C_Encrypt(session_, const_cast<uint8_t*>(key.data()),
                               key.size(), out.data() + kIvSize, &len);
    if (rv != CKR_OK) return CkError("C_Encrypt", rv);
    if (len != key.size() + kTagSize) {
      return absl::InternalError("PKCS#11 C_Encrypt returned a wrong length");
    }
    return out;
  }

  absl::StatusOr<SecretBytes> Unwrap(std::span<const uint8_t> wrapped,
                                     std::span<const uint8_t> aad) override {
    if (wrapped.size() <= kIvSize + kTagSize || wrapped.size() > kMaxWrapped) {
      return absl::InvalidArgumentError("decryption failed");
    }
    std::vector<uint8_t> copy(wrapped.begin(), wrapped.end());
    std::vector<uint8_t> aad_copy(aad.begin(), aad.end());
    CK_GCM_PARAMS params = {};
    params.iv_ptr = copy.data();
    params.iv_len = kIvSize;
    params.iv_bits = kIvSize * 8;
    params.aad_ptr = aad_copy.data();
    params.aad_len = aad_copy.size();
    params.tag_bits = kTagSize * 8;
    CK_MECHANISM mech = {CKM_AES_GCM, &params, sizeof params};
    SecretBytes out(copy.size() - kIvSize);
    absl::MutexLock lock(&mu_);
    if (CK_RV rv = fns_->C_DecryptInit(session_, &mech, key_); rv != CKR_OK) {
      return CkError("C_DecryptInit (CKM_AES_GCM)", rv);
    }
    CK_ULONG len = out.size();
    CK_RV rv = fns_->C_Decrypt(session_, copy.data() + kIvSize,
                               copy.size() - kIvSize, out.data(), &len);
    if (rv == CKR_ENCRYPTED_DATA_INVALID || rv == CKR_ENCRYPTED_DATA_LEN_RANGE) {
      return absl::InvalidArgumentError("decryption failed");
    }
    if (rv != CKR_OK) return CkError("C_Decrypt", rv);
    out.Truncate(len);
    return out;
  }

 private:
  absl::StatusOr<CK_SLOT_ID> FindSlot(const std::string& label) {
    CK_ULONG count = 0;
    if (CK_RV rv = fns_->C_GetSlotList(CK_TRUE, nullptr, &count); rv != CKR_OK) {
      return CkError("C_GetSlotList", rv);
    }
    std::vector<CK_SLOT_ID> slots(count);
    if (count > 0) {
      if (CK_RV rv = fns_->C_GetSlotList(CK_TRUE, slots.data(), &count);
          rv != CKR_OK) {
        return CkError("C_GetSlotList", rv);
      }
      slots.resize(count);
    }
    for (CK_SLOT_ID slot : slots) {
      CK_TOKEN_INFO info;
      if (fns_->C_GetTokenInfo(slot, &info) != CKR_OK) continue;
      if (TrimmedLabel(info.label) == label) return slot;
    }
    return absl::FailedPreconditionError(
        StrCat("no PKCS#11 token labelled ", label, " (", count,
               " tokens present)"));
  }

  absl::StatusOr<std::optional<CK_OBJECT_HANDLE>> FindKey(
      const std::string& label) {
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE type = CKK_AES;
    CK_ATTRIBUTE tmpl[] = {
        {CKA_CLASS, &cls, sizeof cls},
        {CKA_KEY_TYPE, &type, sizeof type},
        {CKA_LABEL, const_cast<char*>(label.data()), label.size()},
    };
    if (CK_RV rv = fns_->C_FindObjectsInit(session_, tmpl, 3); rv != CKR_OK) {
      return CkError("C_FindObjectsInit", rv);
    }
    CK_OBJECT_HANDLE found[2];
    CK_ULONG n = 0;
    CK_RV rv = fns_->C_FindObjects(session_, found, 2, &n);
    fns_->C_FindObjectsFinal(session_);
    if (rv != CKR_OK) return CkError("C_FindObjects", rv);
    if (n == 0) return std::optional<CK_OBJECT_HANDLE>();
    if (n > 1) {
      return absl::FailedPreconditionError(
          StrCat("more than one AES key is labelled ", label,
                 " in the token; labels must name one key"));
    }
    return std::optional<CK_OBJECT_HANDLE>(found[0]);
  }

  absl::StatusOr<CK_OBJECT_HANDLE> GenerateKey(const std::string& label) {
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_ULONG len = 32;
    CK_ATTRIBUTE tmpl[] = {
        {CKA_TOKEN, &yes, sizeof yes},
        {CKA_PRIVATE, &yes, sizeof yes},
        {CKA_SENSITIVE, &yes, sizeof yes},
        {CKA_EXTRACTABLE, &no, sizeof no},
        {CKA_ENCRYPT, &yes, sizeof yes},
        {CKA_DECRYPT, &yes, sizeof yes},
        {CKA_VALUE_LEN, &len, sizeof len},
        {CKA_LABEL, const_cast<char*>(label.data()), label.size()},
    };
    CK_MECHANISM mech = {CKM_AES_KEY_GEN, nullptr, 0};
    CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
    if (CK_RV rv = fns_->C_GenerateKey(session_, &mech, tmpl,
                                       sizeof tmpl / sizeof tmpl[0], &key);
        rv != CKR_OK) {
      return CkError("C_GenerateKey (CKM_AES_KEY_GEN)", rv);
    }
    return key;
  }

  absl::Status CheckKeyIsProtected(const std::string& label) {
    CK_BBOOL sensitive = CK_FALSE, extractable = CK_TRUE;
    CK_ATTRIBUTE attrs[] = {
        {CKA_SENSITIVE, &sensitive, sizeof sensitive},
        {CKA_EXTRACTABLE, &extractable, sizeof extractable},
    };
    if (CK_RV rv = fns_->C_GetAttributeValue(session_, key_, attrs, 2);
        rv != CKR_OK) {
      return CkError("C_GetAttributeValue", rv);
    }
    if (sensitive != CK_TRUE || extractable != CK_FALSE) {
      return absl::FailedPreconditionError(
          StrCat("the token key ", label,
                 " may leave the token (it must be CKA_SENSITIVE and not "
                 "CKA_EXTRACTABLE); make a non-extractable key"));
    }
    return absl::OkStatus();
  }

  void* module_ = nullptr;
  CK_FUNCTION_LIST_PTR fns_ = nullptr;
  bool initialized_ = false;
  CK_SESSION_HANDLE session_ = CK_INVALID_HANDLE;
  CK_OBJECT_HANDLE key_ = CK_INVALID_HANDLE;
  absl::Mutex mu_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<KeyWrapper>> OpenPkcs11Wrapper(
    const Pkcs11Options& options) {
  auto wrapper = std::make_unique<Pkcs11Wrapper>();
  KW_RETURN_IF_ERROR(wrapper->Open(options));
  return std::unique_ptr<KeyWrapper>(std::move(wrapper));
}

}  // namespace keywarden::seal
