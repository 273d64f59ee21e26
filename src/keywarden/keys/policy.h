#ifndef KEYWARDEN_KEYS_POLICY_H_
#define KEYWARDEN_KEYS_POLICY_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"

// Instance policies (keyprotect-api.md §7.2): settings of one instance that
// shape what its callers may do. Plain value types; the rules that read
// them live in the service.
namespace keywarden::keys {

// The six policy types, stored and sent by their Key Protect names.
enum class InstancePolicyType {
  kDualAuthDelete,
  kRotation,
  kAllowedNetwork,
  kAllowedIp,
  kKeyCreateImportAccess,
  kMetrics,
};
inline constexpr int kInstancePolicyTypeCount = 6;

// "dualAuthDelete", "rotation", "allowedNetwork", "allowedIP",
// "keyCreateImportAccess", "metrics".
std::string_view InstancePolicyTypeName(InstancePolicyType type);
std::optional<InstancePolicyType> InstancePolicyTypeFromName(
    std::string_view name);

enum class AllowedNetwork { kPublicAndPrivate, kPrivateOnly };
// "public-and-private", "private-only".
std::string_view AllowedNetworkName(AllowedNetwork network);
std::optional<AllowedNetwork> AllowedNetworkFromName(std::string_view name);

// keyCreateImportAccess attributes; omitted attributes take these defaults.
struct KeyCreateImportAccess {
  bool create_root_key = true;
  bool create_standard_key = true;
  bool import_root_key = true;
  bool import_standard_key = true;
  // Imports (and rotations of imported root keys) must use an import
  // token; overrides import_root_key/import_standard_key for plain imports.
  bool enforce_token = false;
};

// One instance policy as stored. Only the attributes of `type` are
// meaningful; a disabled policy keeps none (they reset to the defaults).
struct InstancePolicy {
  std::string instance_id;
  InstancePolicyType type = InstancePolicyType::kDualAuthDelete;
  bool enabled = false;

  int rotation_interval_months = 1;                   // kRotation, 1..12
  AllowedNetwork allowed_network = AllowedNetwork::kPublicAndPrivate;
  std::vector<std::string> allowed_ips;               // kAllowedIp: CIDRs
  KeyCreateImportAccess key_create_import_access;     // kKeyCreateImportAccess

  absl::Time creation_time;
  std::string created_by;
  absl::Time last_update_time;
  std::string updated_by;
};

// Limits of keyprotect-api.md §7, §16.
inline constexpr int kMinRotationIntervalMonths = 1;
inline constexpr int kMaxRotationIntervalMonths = 12;
inline constexpr size_t kMaxAllowedIps = 1000;
// A rotation "month" is 30 days (keyprotect-api.md §7.1).
inline constexpr absl::Duration kRotationMonth = absl::Hours(24 * 30);

}  // namespace keywarden::keys

#endif  // KEYWARDEN_KEYS_POLICY_H_
