#ifndef KEYWARDEN_IAM_PRINCIPAL_H_
#define KEYWARDEN_IAM_PRINCIPAL_H_

#include <string>

namespace keywarden::iam {

// Who is calling. For now the only principal is the bootstrap administrator;
// the identity issue adds users and service ids with roles.
struct Principal {
  std::string id;  // shown as createdBy / deletedBy
  bool is_admin = false;
};

}  // namespace keywarden::iam

#endif  // KEYWARDEN_IAM_PRINCIPAL_H_
