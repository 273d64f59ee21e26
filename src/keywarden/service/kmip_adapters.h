#ifndef KEYWARDEN_SERVICE_KMIP_ADAPTERS_H_
#define KEYWARDEN_SERVICE_KMIP_ADAPTERS_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "keywarden/common/clock.h"
#include "keywarden/common/secret_bytes.h"
#include "keywarden/service/access_control.h"
#include "keywarden/service/data_plane.h"
#include "keywarden/service/request_context.h"
#include "keywarden/store/kmip_store.h"
#include "keywarden/store/store.h"

namespace keywarden::service {

class KmipCache;

// The limits of keyprotect-api.md §13/§16.
inline constexpr int64_t kMaxKmipAdapters = 200;
inline constexpr int64_t kMaxKmipCertificates = 200;
inline constexpr std::string_view kKmipProfileNative = "native_1.0";

// KMIP object states (KMIP 1.4 §3.22), the codes the store keeps.
enum class KmipState : int32_t {
  kPreActive = 1,
  kActive = 2,
  kDeactivated = 3,
  kCompromised = 4,
  kDestroyed = 5,
  kDestroyedCompromised = 6,
};

struct KmipAdapterInput {
  std::optional<std::string> name;  // absent: kmip_adapter_<random>
  std::string description;
  std::string profile;
  std::string crk_id;  // a root key id or alias
};

struct KmipCertificateInput {
  std::optional<std::string> name;  // absent: kmip_cert_<random>
  std::string pem;
};

struct KmipPage {
  int64_t limit = 100;
  int64_t offset = 0;
};

template <typename T>
struct KmipList {
  std::vector<T> items;
  int64_t total = 0;
};

// A KMIP client, as its certificate identifies it.
struct KmipCaller {
  std::string instance_id;
  std::string adapter_id;
  std::string crk_id;
  std::string certificate_id;
};

// KmipAdapters is the protocol-neutral side of Key Protect's KMIP adapters
// (keyprotect-api.md §13): their management (called by the REST API, for
// a caller with Manager or KmipAdapterManager on the whole instance) and
// the durable objects of the KMIP listener (api/kmip's service backend,
// which owns KMIP's attributes and state machine and calls in here with the
// caller its certificate names).
//
// Objects' material is sealed under the adapter's root key with the data
// plane's wrap (RootKeySealer) and an AAD that names the object, so a
// disabled root key stops every object, a destroyed or purged one shreds
// them, and a sealed blob moved to another object does not open.
// Thread-safe; everything it points to outlives it.
class KmipAdapters {
 public:
  struct Deps {
    store::Store* keys = nullptr;
    store::KmipStore* store = nullptr;
    RootKeySealer* sealer = nullptr;
    const AccessControl* access = nullptr;
    const Clock* clock = nullptr;
    // Optional (null: every request reads the store and opens the
    // material): callers and opened material kept between requests, and
    // dropped here on this node's changes (kmip_cache.h).
    KmipCache* cache = nullptr;
  };
  explicit KmipAdapters(Deps deps);

  // ---- management (REST)
  absl::StatusOr<store::KmipAdapter> CreateAdapter(const RequestContext& ctx,
                                                   const KmipAdapterInput& in);
  absl::StatusOr<KmipList<store::KmipAdapter>> ListAdapters(
      const RequestContext& ctx, std::string_view crk_id, KmipPage page);
  absl::StatusOr<store::KmipAdapter> GetAdapter(const RequestContext& ctx,
                                                std::string_view id_or_name);
  absl::Status DeleteAdapter(const RequestContext& ctx,
                             std::string_view id_or_name);

  absl::StatusOr<store::KmipCertificate> CreateCertificate(
      const RequestContext& ctx, std::string_view adapter,
      const KmipCertificateInput& in);
  absl::StatusOr<KmipList<store::KmipCertificate>> ListCertificates(
      const RequestContext& ctx, std::string_view adapter, KmipPage page);
  absl::StatusOr<store::KmipCertificate> GetCertificate(
      const RequestContext& ctx, std::string_view adapter,
      std::string_view id_or_name);
  absl::Status DeleteCertificate(const RequestContext& ctx,
                                 std::string_view adapter,
                                 std::string_view id_or_name);

  // `states` empty: 1-4 (Key Protect's default).
  absl::StatusOr<KmipList<store::KmipObject>> ListObjects(
      const RequestContext& ctx, std::string_view adapter,
      std::vector<int32_t> states, KmipPage page);
  absl::StatusOr<store::KmipObject> GetObject(const RequestContext& ctx,
                                              std::string_view adapter,
                                              std::string_view id);
  // Destroys the object (state 5, or 6 if compromised) and erases its
  // material; refused (409) while it is Active.
  absl::Status DeleteObject(const RequestContext& ctx,
                            std::string_view adapter, std::string_view id);

  // ---- the KMIP listener

  // The caller a TLS client certificate (SHA-256 of its DER, raw bytes)
  // names; PermissionDenied for a certificate registered to no adapter.
  absl::StatusOr<KmipCaller> Identify(std::string_view certificate_sha256);

  // Completes a new object once its id and times are known (the KMIP
  // layer writes them into its attributes); an error abandons the create.
  using CompleteObject = std::function<absl::Status(store::KmipObject&)>;

  // Stores a new object with `material` sealed under the caller's root key,
  // in one insert audited as `action`: its id, times and revision (1) are
  // set here, then `complete` (if any) finishes the record before it is
  // written, so no half-made object is ever stored or visible.
  absl::StatusOr<store::KmipObject> CreateObject(
      const KmipCaller& caller, store::KmipObject object,
      const SecretBytes& material, std::string_view action,
      const CompleteObject& complete = nullptr);
  // The caller's object; NotFound for another adapter's.
  absl::StatusOr<store::KmipObject> LoadObject(const KmipCaller& caller,
                                               std::string_view id);
  // The object's material, opened with the root key: fails while the key
  // is disabled, and forever once it is destroyed or purged.
  absl::StatusOr<SecretBytes> OpenMaterial(const KmipCaller& caller,
                                           const store::KmipObject& object);
  // Writes `object` (as loaded, changed) with the next revision; Aborted if
  // it changed meanwhile. An `action` is audited with it. A destroyed
  // object's sealed material is erased here.
  absl::Status UpdateObject(const KmipCaller& caller, store::KmipObject object,
                            std::optional<std::string_view> action);
  // The caller's objects that match `query` (its limit and offset apply),
  // and how many match in all (limit and offset ignored).
  absl::StatusOr<std::vector<store::KmipObject>> FindObjects(
      const KmipCaller& caller, store::KmipObjectQuery query);
  absl::StatusOr<int64_t> CountObjects(const KmipCaller& caller,
                                       store::KmipObjectQuery query);

 private:
  absl::Status AuthorizeInstance(const RequestContext& ctx) const;
  absl::StatusOr<store::KmipAdapter> FindAdapter(const RequestContext& ctx,
                                                 std::string_view id_or_name);

  store::Store* keys_;
  store::KmipStore* store_;
  RootKeySealer* sealer_;
  const AccessControl* access_;
  const Clock* clock_;
  KmipCache* cache_;
};

// The AAD that binds an object's sealed material to the object
// (docs/formats/kmip.md "Object material").
std::vector<std::string> KmipMaterialAad(std::string_view instance_id,
                                         std::string_view adapter_id,
                                         std::string_view object_id);

}  // namespace keywarden::service

#endif  // KEYWARDEN_SERVICE_KMIP_ADAPTERS_H_
