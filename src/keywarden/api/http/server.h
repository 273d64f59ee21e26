#ifndef KEYWARDEN_API_HTTP_SERVER_H_
#define KEYWARDEN_API_HTTP_SERVER_H_

// The HTTP/1.1 (+TLS) transport: sockets, parsing limits, timeouts, keep-alive
// and shutdown. Request handling is a plain function from Request to Response
// (see http_types.h) that knows nothing of sockets; routing, JSON and error
// mapping live above this layer.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "keywarden/api/http/http_types.h"

namespace keywarden::api::http {

// Called once per request, with `response` pre-set to 200 and the request's
// HTTP version. The handler fills status, headers and body; the server then
// sets Content-Length and keep-alive. It runs synchronously on the I/O thread
// that owns the connection, unless HttpServerOptions::offload selects the
// request for the blocking pool (below). On an I/O thread it must not block
// for long (it stalls every connection on that thread). It should not throw:
// an exception becomes an empty 500. It is called concurrently from all I/O
// threads and pool threads.
using Handler = std::function<void(const Request& request, Response& response)>;

// Chooses, per request, whether the handler runs on the blocking pool. Called
// on the I/O thread before the handler; must be cheap, must not block and
// should not throw (an exception becomes an empty 500 without calling the
// handler).
using OffloadPredicate = std::function<bool(const Request& request)>;

// The IP address of the client whose request the calling thread's handler is
// serving ("" outside a handler or when unknown), on an I/O thread or a pool
// thread alike. For audit records and per-address throttling; the handler
// signature stays a plain function of the request.
std::string_view CurrentPeerAddress();

// Builds the response for a transport-level rejection (400 malformed, 413
// body too large, 431 headers too large) so the API layer can use its own
// error envelope. The connection is closed after it is sent.
using ErrorResponder = std::function<void(HttpStatus status, Response& response)>;

struct HttpServerOptions {
  // IP literal or resolvable host name. Port 0 picks a free port; see
  // HttpServer::port().
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  // I/O threads, each running its own io_context; 0 = hardware_concurrency.
  int threads = 0;

  // TLS (1.2 or later) when both are set: PEM certificate chain and private
  // key. A server is either plain or TLS, never both.
  std::optional<std::string> tls_cert_file;
  std::optional<std::string> tls_key_file;

  size_t max_body_bytes = 1 << 20;     // larger bodies get 413
  size_t max_header_bytes = 16 << 10;  // larger headers get 431
  // From the first byte of a request until it is fully read (also bounds the
  // TLS handshake and the writing of a response).
  std::chrono::milliseconds read_timeout = std::chrono::seconds(30);
  // How long a keep-alive connection may wait for its next request.
  std::chrono::milliseconds idle_timeout = std::chrono::seconds(60);
  // Connections beyond this are accepted and closed at once.
  size_t max_connections = 10000;

  ErrorResponder error_responder;  // optional; default: empty body

  // Requests for which `offload` returns true have their handler run on a
  // separate pool of `blocking_threads` threads instead of the I/O thread:
  // for CPU-heavy work such as RSA-4096 key generation (about a second).
  // The connection waits for the handler without holding its I/O thread,
  // so every other connection on that thread keeps being served, then
  // writes the response on its own thread as usual. A connection has at
  // most one request in its handler, so at most `blocking_threads` handlers
  // run at once and at most one request per connection waits for a pool
  // thread. The request's read deadline does not run while its handler
  // does, inline or offloaded. Unset (the default): every handler runs on
  // its I/O thread and no pool is started. With `offload` set,
  // blocking_threads must be at least 1.
  OffloadPredicate offload;
  int blocking_threads = 2;

  // Called on the connection's thread after each response has been written
  // and the exchange wiped (request and response bodies and the read buffer
  // overwritten: they may hold plaintext keys). For tests; optional.
  std::function<void(const Request& request, const Response& response)>
      after_response;
};

// An asynchronous HTTP/1.1 server built on Boost.Beast.
//
// Each I/O thread runs its own io_context; one acceptor hands new sockets to
// the threads round-robin, and a connection stays on its thread for life, so
// the request path takes no locks. One request is handled at a time per
// connection; pipelined requests wait in the read buffer.
//
// Lifecycle: Start() binds, listens and starts the threads. Stop() stops
// accepting, closes idle keep-alive connections, lets in-flight requests
// (offloaded ones included) finish and their responses be written, then
// joins the I/O threads and the blocking pool.
//
// Thread-safety: port(), Stop() and Wait() may be called from any thread,
// including from a handler on an I/O or pool thread (then Stop() only
// initiates the shutdown and the threads are joined by Wait() or the
// destructor). The destructor calls Stop() and must not run on one of the
// server's own threads.
class HttpServer {
 public:
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(
      HttpServerOptions options, Handler handler);

  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The bound address (the actual port when options.port was 0).
  const std::string& host() const;
  uint16_t port() const;
  // "host:port" (IPv6 in brackets), for logs and client URLs.
  std::string endpoint() const;
  bool tls() const;

  void Stop();
  // Blocks until the server has stopped and its threads have exited. Not
  // from a handler (it would wait for its own thread).
  void Wait();

  // Open connections right now (for a gauge; approximate under load).
  size_t connection_count() const;

 private:
  class Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace keywarden::api::http

#endif  // KEYWARDEN_API_HTTP_SERVER_H_
