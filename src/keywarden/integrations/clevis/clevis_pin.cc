#include "keywarden/integrations/clevis/clevis_pin.h"

#include <utility>

#include "keywarden/client/errors.h"
#include "keywarden/common/strings.h"

namespace keywarden::integrations::clevis {

absl::StatusOr<PinHeader> WrapCek(client::KeyProtectClient& kp,
                                  const PinConfig& config,
                                  const SecretBytes& cek) {
  if (cek.size() != kCekBytes) {
    return absl::InvalidArgumentError("the content-encryption key is not 32 bytes");
  }
  auto key = kp.GetKeyMetadata(config.key);
  if (!key.ok()) return key.status();
  auto wrapped = kp.Wrap(key->id, &cek, {std::string(kWrapAad)});
  if (!wrapped.ok()) return wrapped.status();
  if (!config.crn.empty()) {
    client::RegistrationRequest r;
    r.description = "clevis pin keywarden";
    auto registered = kp.CreateRegistration(key->id, config.crn, r);
    // CONFLICT_ERR: the resource is registered already, with other fields
    // (the key version of an earlier bind, before a rotation): it is still
    // the key's registration, which is all a bind needs.
    if (!registered.ok() && client::ReasonOf(registered.status()) != "CONFLICT_ERR") {
      return absl::Status(
          registered.status().code(),
          AbslView(StrCat("cannot register ", client::Printable(config.crn),
                          " with the key: ",
                          StdView(registered.status().message()))));
    }
  }
  PinHeader h;
  h.url = config.url;
  h.instance = config.instance;
  h.key = key->id;
  h.key_version = wrapped->key_version_id;
  h.wdek = std::move(wrapped->ciphertext);
  h.apikey_file = config.apikey_file;
  h.cacert = config.cacert;
  h.crn = config.crn;
  return h;
}

absl::StatusOr<SecretBytes> UnwrapCek(client::KeyProtectClient& kp,
                                      const PinHeader& header) {
  auto unwrapped = kp.Unwrap(header.key, header.wdek, {std::string(kWrapAad)});
  if (!unwrapped.ok()) return unwrapped.status();
  if (unwrapped->plaintext.size() != kCekBytes) {
    return absl::InvalidArgumentError(
        "the WDEK does not hold a 32-byte content-encryption key");
  }
  return std::move(unwrapped->plaintext);
}

}  // namespace keywarden::integrations::clevis
