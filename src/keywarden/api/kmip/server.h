#ifndef KEYWARDEN_API_KMIP_SERVER_H_
#define KEYWARDEN_API_KMIP_SERVER_H_

// The KMIP transport: TTLV messages over TLS 1.2+ on TCP (KMIP 1.4 §10,
// KMIP Profiles: port 5696 by convention). Each message is framed by its own
// TTLV header (tag, Structure type, length), so the server reads 8 bytes,
// checks the length against the limit, reads the rest and hands the whole
// message to the handler: a plain function from bytes to bytes that knows
// nothing of sockets (KmipProtocol::Process, wrapped with the peer's
// identity). Several requests may follow each other on a connection; one is
// handled at a time.
//
// Identity: a client certificate is required. Key Protect's KMIP adapters
// identify a client by the exact certificate registered to the adapter, not
// by a CA, so the chain is not verified; instead `accept_certificate` is
// asked during the handshake about the leaf certificate (DER and SHA-256),
// and a certificate it refuses, an expired or not yet valid one, or none at
// all fails the handshake. The handler gets the same DER and fingerprint.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "absl/status/statusor.h"
#include "keywarden/api/kmip/ttlv.h"

namespace keywarden::api::kmip {

struct KmipPeer {
  std::string certificate_der;
  std::string certificate_sha256;  // 32 raw bytes, SHA-256 of the DER
  std::string address;             // the client's IP address
};

// Called once per request message on the connection's I/O thread; returns
// the encoded response message. It must not block for long (it stalls the
// other connections of its thread). The server wipes the request and the
// response (which may hold key material) once the response is written.
// An exception or an empty answer closes the connection.
using KmipHandler = std::function<std::string(std::span<const uint8_t> message,
                                              const KmipPeer& peer)>;

// Decides, during the handshake, whether a client certificate may connect.
// Called on an I/O thread; must be cheap and thread-safe.
using CertificateFilter =
    std::function<bool(std::string_view der, std::string_view sha256)>;

struct KmipServerOptions {
  // IP literal or resolvable host name. Port 0 picks a free port.
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  int threads = 1;  // I/O threads; 0 = hardware_concurrency

  // PEM certificate chain and private key of the server (required).
  std::string tls_cert_file;
  std::string tls_key_file;
  // Unset: every certificate within its validity period is accepted (the
  // handler decides what it may do).
  CertificateFilter accept_certificate;

  // The largest request message, header included; a larger length in a
  // header closes the connection before the body is read.
  size_t max_message_bytes = kMaxTtlvMessageBytes;
  // From the connection's start to the end of the handshake, and from the
  // first byte of a message to its last (also bounds writing a response).
  std::chrono::milliseconds read_timeout = std::chrono::seconds(30);
  // How long a connection may wait for its next message.
  std::chrono::milliseconds idle_timeout = std::chrono::seconds(120);
  // Connections beyond this are accepted and closed at once.
  size_t max_connections = 1000;

  // Messages for which `offload` returns true are handled on a pool of
  // `blocking_threads` threads instead of the I/O thread: for slow work
  // such as RSA-4096 key generation (protocol.h's MayBeSlow picks Create
  // Key Pair). The connection waits without holding its I/O thread, so the
  // other connections there keep being served; its deadline does not run
  // while the handler does. Unset: every handler runs on its I/O thread and
  // no pool is started. Called on the I/O thread; must be cheap and must not
  // throw (a throw closes the connection).
  std::function<bool(std::span<const uint8_t> message)> offload;
  int blocking_threads = 2;
};

// A KMIP server on Boost.Asio. Each connection runs as a coroutine on its
// own strand with a watchdog that closes it when its deadline passes.
//
// Lifecycle: Start() loads the TLS files, binds, listens and starts the
// threads. Stop() closes the listener and every connection (a request being
// handled finishes, its response is not sent) and joins the threads.
// Thread-safety: port() and Stop() may be called from any thread except the
// server's own; the destructor calls Stop().
class KmipServer {
 public:
  static absl::StatusOr<std::unique_ptr<KmipServer>> Start(
      KmipServerOptions options, KmipHandler handler);
  ~KmipServer();
  KmipServer(const KmipServer&) = delete;
  KmipServer& operator=(const KmipServer&) = delete;

  uint16_t port() const;
  void Stop();
  size_t connection_count() const;

 private:
  class Impl;
  explicit KmipServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace keywarden::api::kmip

#endif  // KEYWARDEN_API_KMIP_SERVER_H_
