#ifndef KEYWARDEN_IAM_PRINCIPAL_H_
#define KEYWARDEN_IAM_PRINCIPAL_H_

#include <string>

namespace keywarden::iam {

// Who is calling, as resolved for one request: the bootstrap
// administrator, a user or a service id (iam/identity.h has the stored
// records). Grants are looked up by `id` (policies) and, for service ids, by
// `id` or `service_type` (service authorizations).
struct Principal {
  std::string id;  // shown as createdBy / deletedBy
  bool is_admin = false;
  bool is_service = false;  // a service id: service authorizations apply
  std::string service_type;
};

}  // namespace keywarden::iam

#endif  // KEYWARDEN_IAM_PRINCIPAL_H_
