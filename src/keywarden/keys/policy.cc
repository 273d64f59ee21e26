#include "keywarden/keys/policy.h"

#include <array>
#include <string_view>

namespace keywarden::keys {

namespace {

template <typename Enum>
struct Named {
  Enum value;
  std::string_view name;
};

// Key Protect's names (keyprotect-api.md §7.2); also the stable codes the
// database stores, so they never change.
constexpr std::array<Named<InstancePolicyType>, 6> kPolicyTypeNames = {{
    {InstancePolicyType::kDualAuthDelete, "dualAuthDelete"},
    {InstancePolicyType::kRotation, "rotation"},
    {InstancePolicyType::kAllowedNetwork, "allowedNetwork"},
    {InstancePolicyType::kAllowedIp, "allowedIP"},
    {InstancePolicyType::kKeyCreateImportAccess, "keyCreateImportAccess"},
    {InstancePolicyType::kMetrics, "metrics"},
}};

constexpr std::array<Named<AllowedNetwork>, 2> kNetworkNames = {{
    {AllowedNetwork::kPublicAndPrivate, "public-and-private"},
    {AllowedNetwork::kPrivateOnly, "private-only"},
}};

template <typename Enum, size_t N>
std::string_view NameOf(const std::array<Named<Enum>, N>& table, Enum value) {
  for (const Named<Enum>& n : table) {
    if (n.value == value) return n.name;
  }
  return {};
}

template <typename Enum, size_t N>
std::optional<Enum> FromName(const std::array<Named<Enum>, N>& table,
                             std::string_view name) {
  for (const Named<Enum>& n : table) {
    if (n.name == name) return n.value;
  }
  return std::nullopt;
}

}  // namespace

std::string_view InstancePolicyTypeName(InstancePolicyType type) {
  return NameOf(kPolicyTypeNames, type);
}

std::optional<InstancePolicyType> InstancePolicyTypeFromName(
    std::string_view name) {
  return FromName(kPolicyTypeNames, name);
}

std::string_view AllowedNetworkName(AllowedNetwork network) {
  return NameOf(kNetworkNames, network);
}

std::optional<AllowedNetwork> AllowedNetworkFromName(std::string_view name) {
  return FromName(kNetworkNames, name);
}

}  // namespace keywarden::keys
