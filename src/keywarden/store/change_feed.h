#ifndef KEYWARDEN_STORE_CHANGE_FEED_H_
#define KEYWARDEN_STORE_CHANGE_FEED_H_

#include <functional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace keywarden::store {

// What a committed write changed, as far as a node's in-memory caches care
// (docs/operations.md "Many nodes"). A store shared by several nodes
// (PostgreSQL) tells every other node about each one; the composition root
// turns it into a cache invalidation. Coarse on purpose: only a key change
// names what it changed; every other kind reloads a whole cache.
struct Change {
  enum class Kind {
    // Anything: a notice may have been missed, or the write was not
    // classified. Every cache is dropped or reloaded.
    kAll,
    // One key (its state, versions, aliases or ring): `instance_id`,
    // `key_id`.
    kKey,
    // Principals, API keys, instances, access policies, service
    // authorizations, the bootstrap token's revocation.
    kIdentity,
    // The token signing keys.
    kSigningKeys,
    // The instance policies of some instance.
    kInstancePolicies,
    // The webhook registry.
    kWebhooks,
    // KMIP adapters, their client certificates, or a KMIP object's state,
    // attributes or material (keyprotect-api.md §13): the KMIP listener's
    // callers and opened material (service/kmip_cache.h).
    kKmip,
  };
  Kind kind = Kind::kAll;
  std::string instance_id;
  std::string key_id;

  static Change All() { return {}; }
  static Change Of(Kind kind) { return {kind, {}, {}}; }
  static Change Key(std::string instance_id, std::string key_id) {
    return {Kind::kKey, std::move(instance_id), std::move(key_id)};
  }
};

// Called on the store's feed thread for every change another node (or
// another process) committed; it must not block for long.
using ChangeListener = std::function<void(const Change&)>;

// How a node hears other nodes' changes (SqlStore::StartChangeFeed).
struct ChangeFeedOptions {
  ChangeListener listener;
  // How often the counter is polled when no notice came: the fallback for
  // a lost or silent LISTEN session, and so the bound on how late a change
  // is heard when notices fail.
  absl::Duration poll_interval = absl::Milliseconds(200);
  // Told when the feed is lost (not OK: every cache is dropped at each
  // poll until it is back) and when it is back (OK), for the log.
  std::function<void(const absl::Status&)> on_state;
};

}  // namespace keywarden::store

#endif  // KEYWARDEN_STORE_CHANGE_FEED_H_
