#ifndef KEYWARDEN_SERVICE_REGISTRATIONS_H_
#define KEYWARDEN_SERVICE_REGISTRATIONS_H_

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "keywarden/common/clock.h"
#include "keywarden/keys/registration.h"
#include "keywarden/service/access_control.h"
#include "keywarden/service/request_context.h"
#include "keywarden/service/types.h"
#include "keywarden/store/store.h"

namespace keywarden::service {

// POST /event_ack, one resource (keyprotect-api.md §12).
struct EventAckRequest {
  std::string event_id;
  std::string adopter_key_state;
  std::optional<absl::Time> timestamp;
  std::optional<std::string> rewrapped_key_version;  // keyStateData
  bool delete_registration = false;
};

// RegistrationManager runs the registration API (keyprotect-api.md §11):
// integrated services (service ids calling service to service) create,
// replace, update and delete the registrations that tie their resources to
// root keys, and acknowledge the lifecycle events Keywarden sends them
// (§12); users and services list registrations. A service sees and
// changes only its own registrations; users see every registration of the
// keys they can read, without registrationMetadata. Thread-safe.
class RegistrationManager {
 public:
  RegistrationManager(store::Store* store, const AccessControl* access,
                      const Clock* clock);

  // POST (create), PUT (replace) or PATCH (merge) of one registration.
  absl::StatusOr<RegistrationResult> Write(const RequestContext& ctx,
                                           std::string_view key_id,
                                           const WriteRegistrationRequest& req);
  // DELETE; returns the registration as it was.
  absl::StatusOr<RegistrationResult> Delete(const RequestContext& ctx,
                                            std::string_view key_id,
                                            std::string_view resource_crn);
  // The deprecated `?action=deactivate`: the service tells Keywarden that
  // these resources no longer use the key; their registrations are removed.
  absl::StatusOr<std::vector<RegistrationResult>> Deactivate(
      const RequestContext& ctx, std::string_view key_id,
      const std::vector<std::string>& resource_crns);
  absl::StatusOr<ListRegistrationsResult> List(
      const RequestContext& ctx, const ListRegistrationsRequest& req);

  absl::Status AcknowledgeEvents(const RequestContext& ctx,
                                 const std::vector<EventAckRequest>& acks);

  // The ETag of a registration's current revision.
  static std::string ETagOf(const keys::Registration& r);

 private:
  // The service's reach (SERVICE_ONLY_ERR for users) and the key.
  absl::StatusOr<keys::Key> LoadForService(const RequestContext& ctx,
                                           std::string_view key_id) const;
  RegistrationResult Present(keys::Registration r, const keys::Key& key,
                             bool show_metadata) const;

  store::Store* store_;
  const AccessControl* access_;
  const Clock* clock_;
};

}  // namespace keywarden::service

#endif  // KEYWARDEN_SERVICE_REGISTRATIONS_H_
