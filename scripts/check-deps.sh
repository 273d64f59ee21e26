#!/usr/bin/env bash
# The dependency rule of docs/architecture.md, checked on #include lines.
# Each CMake target's include path already holds only the modules it links
# (cmake/KwHelpers.cmake), but system headers (Boost, sqlite3.h) are reachable
# from every target, and a module reaches its dependencies' dependencies (api
# links service, whose headers include store/store.h), so such an include
# would compile; this check makes it fail. Run as a build step
# (kw_dependency_rule, before any module compiles) and by ctest.
set -euo pipefail
cd "$(dirname "$0")/../src/keywarden"

status=0
# forbid DIR REGEX WHY: no non-test source under DIR may include REGEX.
forbid() {
  local dir=$1 pattern=$2 why=$3 hits
  hits=$(grep -rnE "^#include [<\"]($pattern)" "$dir" --include='*.h' --include='*.cc' \
           | grep -v '_test\.cc:' || true)
  if [[ -n "$hits" ]]; then
    echo "dependency rule: $dir must not include $pattern ($why):"
    echo "$hits"
    status=1
  fi
}

forbid common   'keywarden/(crypto|keys|seal|store|iam|service|api|server|net|cli|client)/|boost/|sqlite3' 'common is the bottom layer'
forbid crypto   'keywarden/(keys|seal|store|iam|service|api|server|net|cli)/|boost/|sqlite3|libpq|grpc' 'crypto knows no keys, JSON, SQL or sockets'
forbid keys     'keywarden/(seal|store|iam|service|api|server|net|cli)/|boost/|sqlite3|libpq|grpc' 'keys is the pure domain'
forbid seal     'keywarden/(store|iam|service|api|server|net|cli)/|boost/|sqlite3' 'seal depends on crypto only'
forbid store    'keywarden/(seal|service|api|server|net|cli)/|keywarden/iam/(access|jwt|api_key|authenticator|throttle|principal)|boost/' 'stores know no service or transport (iam/identity.h records only)'
# The SQL store core speaks to a Connection; only its dialects know their
# client library.
forbid store/sql      'keywarden/store/(sqlite|postgres|memory)/|sqlite3|libpq' 'the SQL core names no dialect'
forbid store/sqlite   'keywarden/store/(postgres|memory)/|libpq' 'a dialect knows only the SQL core'
forbid store/postgres 'keywarden/store/(sqlite|memory)/|sqlite3' 'a dialect knows only the SQL core'
forbid iam      'keywarden/(store|service|api|server|net|cli)/|boost/|sqlite3' 'iam is below the service'
forbid service  'keywarden/(store/(sql|sqlite|memory|postgres)|api|server)/|boost/|sqlite3|libpq|spdlog' 'service names no concrete store or transport'
forbid api      'keywarden/(store/|seal/|server/)|sqlite3' 'transports call the service only'
# api/kmip is the KMIP protocol layer: common and crypto now, the service
# once it is wired in; never a store, a seal, the server or another transport.
forbid api/kmip 'keywarden/(store|seal|server|net|cli|api/(keyprotect|http))/|sqlite3|libpq|grpc' 'KMIP speaks to the core through its backend interface'
# net is the outbound HTTP client (Boost.Beast, OpenSSL) shared by the CLI
# and the server's webhook delivery: it knows no other module but common.
forbid net      'keywarden/(crypto|keys|seal|store|iam|service|api|server|cli|client)/|sqlite3|libpq|grpc|spdlog' 'net is a plain HTTP client over common'
# client is the typed Key Protect client over net: the public API only, no
# server internals, no gRPC (the KMS plugin has its own target).
forbid client   'keywarden/(keys|seal|store|iam|service|api|server|cli)/|sqlite3|libpq|grpc|spdlog' 'the client speaks the public HTTP API only'
# The integrations (KMS plugin, …) run where the integrating service runs:
# clients of the public API through client/, nothing of the server.
forbid integrations 'keywarden/(keys|seal|store|iam|service|api|server|cli)/|sqlite3|libpq|spdlog' 'integrations are clients of the public API'
# cli may include keywarden/client/, keywarden/net/ and keywarden/common/.
forbid cli      'keywarden/(store|service|seal|keys|server|api|crypto|iam|integrations)/' 'the CLI is a client of the public HTTP API only'
exit $status
