// kmip_test_server: the KMIP transport and protocol layer over the in-memory
// test backend, for driving with real KMIP clients (tests/kmip/). Not the
// product's server: objects live in memory and are not sealed.
//
//   kmip_test_server CERT.pem KEY.pem
//
// Listens on 127.0.0.1 on a free port, prints "PORT <n>" on stdout, and
// serves until stdin is closed.
#include <cstdio>
#include <iostream>
#include <string>

#include "keywarden/api/kmip/memory_backend_for_testing.h"
#include "keywarden/api/kmip/protocol.h"
#include "keywarden/api/kmip/server.h"

int main(int argc, char** argv) {
  using namespace keywarden::api::kmip;
  if (argc != 3) {
    std::cerr << "usage: kmip_test_server CERT.pem KEY.pem\n";
    return 2;
  }
  keywarden::SystemClock clock;
  MemoryBackendForTesting backend(clock);
  KmipProtocol protocol(backend, backend, clock);
  KmipServerOptions options;
  options.tls_cert_file = argv[1];
  options.tls_key_file = argv[2];
  auto server = KmipServer::Start(options, [&](std::span<const uint8_t> msg, const KmipPeer& peer) {
    KmipClient client{peer.certificate_der, peer.certificate_sha256};
    return protocol.Process(msg, client);
  });
  if (!server.ok()) {
    std::cerr << "kmip_test_server: " << server.status() << "\n";
    return 1;
  }
  std::cout << "PORT " << (*server)->port() << std::endl;
  std::string line;
  while (std::getline(std::cin, line)) {
  }
  (*server)->Stop();
  return 0;
}
