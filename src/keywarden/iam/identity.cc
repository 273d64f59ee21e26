#include "keywarden/iam/identity.h"

namespace keywarden::iam {

// These strings are stored in the database and shown by the admin API:
// they never change once released (docs/formats/storage-schema.md).

std::string_view PrincipalKindCode(PrincipalKind kind) {
  switch (kind) {
    case PrincipalKind::kUser:
      return "user";
    case PrincipalKind::kServiceId:
      return "service_id";
  }
  return "";
}

std::optional<PrincipalKind> PrincipalKindFromCode(std::string_view code) {
  for (PrincipalKind kind : {PrincipalKind::kUser, PrincipalKind::kServiceId}) {
    if (PrincipalKindCode(kind) == code) return kind;
  }
  return std::nullopt;
}

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kReader:
      return "Reader";
    case Role::kReaderPlus:
      return "ReaderPlus";
    case Role::kWriter:
      return "Writer";
    case Role::kManager:
      return "Manager";
    case Role::kKeyPurge:
      return "KeyPurge";
    case Role::kKmipAdapterManager:
      return "KmipAdapterManager";
  }
  return "";
}

std::optional<Role> RoleFromName(std::string_view name) {
  for (Role role :
       {Role::kReader, Role::kReaderPlus, Role::kWriter, Role::kManager,
        Role::kKeyPurge, Role::kKmipAdapterManager}) {
    if (RoleName(role) == name) return role;
  }
  return std::nullopt;
}

}  // namespace keywarden::iam
