#ifndef KEYWARDEN_SERVER_RUN_SERVER_H_
#define KEYWARDEN_SERVER_RUN_SERVER_H_

#include "keywarden/server/config.h"

namespace keywarden::server {

// The composition root: opens the data dir, unseals the master key, opens
// the store, bootstraps the admin token, starts the HTTP server and the
// background sweep, and blocks until SIGTERM or SIGINT, then shuts down
// gracefully. Returns the process exit code; a failure to start is one line
// on stderr and a non-zero code.
int RunServer(const Config& config);

}  // namespace keywarden::server

#endif  // KEYWARDEN_SERVER_RUN_SERVER_H_
