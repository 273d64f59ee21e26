#ifndef KEYWARDEN_SERVER_HARDENING_H_
#define KEYWARDEN_SERVER_HARDENING_H_

// Process-level protections the server applies to itself at start
// (docs/operations.md "Files and core dumps"): private files and no core
// dumps. Linux only, like the server.

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace keywarden::server {

// Turns core dumps off for the whole process: RLIMIT_CORE 0 (no core file)
// and PR_SET_DUMPABLE 0 (no core, no ptrace attach by other processes of
// the same user, /proc/<pid>/mem unreadable). A dump would hold the master
// key and every unsealed key in the cache. Idempotent.
absl::Status DisableCoreDumps();

// Whether the process may dump core (PR_GET_DUMPABLE), for tests.
bool CoreDumpsEnabled();

// Makes `dir` the server's private data directory: creates it (mode 0700)
// if it is missing, refuses one that group or others can read, write or
// search ("chmod 700" is the fix), and narrows to 0600 the database files
// an earlier version created with the default 0644. Files created after
// this rely on the process umask, which RunServer sets to 077 first.
absl::Status PreparePrivateDataDir(const std::string& dir);

// The contents of a small secret file (e.g. --database-password-file),
// without a trailing newline. Refuses (FailedPrecondition, "chmod 600" is
// the fix) a file that group or others may read or write, and one that is
// not a regular file or is larger than `max_bytes`. The contents never
// appear in the error.
absl::StatusOr<std::string> ReadPrivateFile(const std::string& path,
                                            size_t max_bytes = 4096);

}  // namespace keywarden::server

#endif  // KEYWARDEN_SERVER_HARDENING_H_
