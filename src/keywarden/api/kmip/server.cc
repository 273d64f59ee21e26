#include "keywarden/api/kmip/server.h"

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "keywarden/common/secret_bytes.h"
#include "spdlog/spdlog.h"

namespace keywarden::api::kmip {
namespace {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;
using ErrorCode = boost::system::error_code;
using Stream = ssl::stream<tcp::socket>;

constexpr auto kUseTuple = net::as_tuple(net::use_awaitable);
constexpr auto kTlsShutdownTime = std::chrono::milliseconds(500);

// SHA-256 and DER of a certificate.
bool Identify(X509* cert, std::string& der, std::string& sha256) {
  int n = i2d_X509(cert, nullptr);
  if (n <= 0) return false;
  der.resize(static_cast<size_t>(n));
  auto* p = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_X509(cert, &p) != n) return false;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (X509_digest(cert, EVP_sha256(), md, &md_len) != 1 || md_len != 32) return false;
  sha256.assign(reinterpret_cast<const char*>(md), md_len);
  return true;
}

// The SSL_CTX slot that points back at the server (Asio keeps its own
// verify callback in the context's app data, so that slot is taken).
int ServerIndex() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

bool WithinValidity(X509* cert) {
  return X509_cmp_current_time(X509_get0_notBefore(cert)) < 0 &&
         X509_cmp_current_time(X509_get0_notAfter(cert)) > 0;
}

// One connection: its stream, deadline and the watchdog timer. Lives in a
// shared_ptr held by the session and the watchdog; touched only on its
// strand.
struct Connection {
  explicit Connection(tcp::socket socket, ssl::context& tls)
      : stream(std::move(socket), tls), timer(stream.get_executor()) {}

  void Close() {
    if (closed) return;
    closed = true;
    ErrorCode ignored;
    stream.next_layer().shutdown(tcp::socket::shutdown_both, ignored);
    stream.next_layer().close(ignored);
    timer.cancel();
  }

  // Sets the deadline. The watchdog is woken to re-arm only when the new
  // deadline comes before the time its timer waits for; a later one is
  // picked up when the timer fires (the watchdog re-checks and waits
  // again). Each request moves the deadline twice, so this keeps the timer
  // (a system call and a coroutine wake-up each) off the per-request path.
  void Deadline(SteadyClock::duration d) { SetDeadline(SteadyClock::now() + d); }

  void NoDeadline() { SetDeadline(SteadyClock::time_point::max()); }

  void SetDeadline(SteadyClock::time_point t) {
    deadline = t;
    if (t < armed) timer.cancel();
  }

  Stream stream;
  net::steady_timer timer;
  SteadyClock::time_point deadline = SteadyClock::time_point::max();
  // When the watchdog's timer fires; max while it is not waiting.
  SteadyClock::time_point armed = SteadyClock::time_point::max();
  bool closed = false;
};

}  // namespace

class KmipServer::Impl {
 public:
  Impl(KmipServerOptions options, KmipHandler handler)
      : options_(std::move(options)),
        handler_(std::move(handler)),
        tls_(ssl::context::tls_server),
        acceptor_(io_) {}

  ~Impl() { Stop(); }

  absl::Status Init();
  void Stop();
  uint16_t port() const { return port_; }
  size_t connection_count() const { return connections_.load(); }

 private:
  static int VerifyCallback(int preverify_ok, X509_STORE_CTX* store);
  void DoAccept();
  net::awaitable<void> Session(std::shared_ptr<Connection> conn);
  net::awaitable<void> Serve(Connection& conn);
  net::awaitable<void> Watchdog(std::shared_ptr<Connection> conn);

  const KmipServerOptions options_;
  const KmipHandler handler_;
  net::io_context io_;
  ssl::context tls_;
  tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::vector<std::thread> threads_;
  // The blocking pool, when options_.offload is set. An offloaded handler
  // keeps its connection's coroutine (and so the io_context) waiting, so
  // the I/O threads outlive every pool task.
  std::optional<net::thread_pool> blocking_pool_;
  std::atomic<size_t> connections_{0};
  std::atomic<bool> stopping_{false};
  absl::Mutex mu_;
  absl::flat_hash_set<std::shared_ptr<Connection>> live_ ABSL_GUARDED_BY(mu_);
  absl::Mutex stop_mu_;
};

int KmipServer::Impl::VerifyCallback(int preverify_ok, X509_STORE_CTX* store) {
  (void)preverify_ok;  // the chain is not judged, see server.h
  // The leaf certificate is the credential; a chain above it is not judged
  // (self-signed client certificates are the norm for KMIP adapters).
  if (X509_STORE_CTX_get_error_depth(store) != 0) return 1;
  X509* cert = X509_STORE_CTX_get_current_cert(store);
  if (cert == nullptr || !WithinValidity(cert)) return 0;
  auto* ssl_conn = static_cast<SSL*>(
      X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* self =
      static_cast<Impl*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl_conn), ServerIndex()));
  if (self == nullptr) return 0;
  if (!self->options_.accept_certificate) return 1;
  std::string der, sha256;
  if (!Identify(cert, der, sha256)) return 0;
  try {
    return self->options_.accept_certificate(der, sha256) ? 1 : 0;
  } catch (...) {
    return 0;
  }
}

absl::Status KmipServer::Impl::Init() {
  if (options_.tls_cert_file.empty() || options_.tls_key_file.empty()) {
    return absl::InvalidArgumentError("KMIP needs a TLS certificate and key");
  }
  if (options_.max_message_bytes < kTtlvHeaderSize) {
    return absl::InvalidArgumentError("max_message_bytes too small");
  }
  if (options_.offload) {
    if (options_.blocking_threads < 1) {
      return absl::InvalidArgumentError("offload needs blocking_threads of at least 1");
    }
    blocking_pool_.emplace(static_cast<size_t>(options_.blocking_threads));
  }
  SSL_CTX* ctx = tls_.native_handle();
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
    return absl::InternalError("cannot set the minimum TLS version");
  }
  ErrorCode ec;
  tls_.set_options(ssl::context::default_workarounds | ssl::context::no_compression |
                       ssl::context::single_dh_use,
                   ec);
  tls_.use_certificate_chain_file(options_.tls_cert_file, ec);
  if (ec) {
    return absl::InvalidArgumentError("cannot load TLS certificate " +
                                      options_.tls_cert_file + ": " + ec.message());
  }
  tls_.use_private_key_file(options_.tls_key_file, ssl::context::pem, ec);
  if (ec) {
    return absl::InvalidArgumentError("cannot load TLS key " + options_.tls_key_file +
                                      ": " + ec.message());
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return absl::InvalidArgumentError("TLS key does not match the certificate");
  }
  if (ServerIndex() < 0 || SSL_CTX_set_ex_data(ctx, ServerIndex(), this) != 1) {
    return absl::InternalError("cannot attach the certificate filter");
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                     &Impl::VerifyCallback);
  // Client certificates are not requested again on resumption checks.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);

  tcp::resolver resolver(io_);
  auto results = resolver.resolve(options_.host, std::to_string(options_.port),
                                  tcp::resolver::passive, ec);
  if (ec || results.empty()) {
    return absl::InvalidArgumentError("cannot resolve KMIP listen host " + options_.host);
  }
  tcp::endpoint endpoint = results.begin()->endpoint();
  if (acceptor_.open(endpoint.protocol(), ec); ec) {
    return absl::UnavailableError("socket: " + ec.message());
  }
  acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (acceptor_.bind(endpoint, ec); ec) {
    return absl::UnavailableError("cannot bind " + options_.host + ":" +
                                  std::to_string(options_.port) + ": " + ec.message());
  }
  if (acceptor_.listen(net::socket_base::max_listen_connections, ec); ec) {
    return absl::UnavailableError("listen: " + ec.message());
  }
  port_ = acceptor_.local_endpoint(ec).port();

  DoAccept();
  int threads = options_.threads > 0 ? options_.threads
                                     : static_cast<int>(std::thread::hardware_concurrency());
  for (int i = 0; i < std::max(threads, 1); ++i) {
    threads_.emplace_back([this] {
      for (;;) {
        try {
          io_.run();
          return;
        } catch (const std::exception& e) {
          spdlog::error("kmip: exception escaped an I/O handler: {}", e.what());
        } catch (...) {
          spdlog::error("kmip: unknown exception escaped an I/O handler");
        }
      }
    });
  }
  return absl::OkStatus();
}

void KmipServer::Impl::DoAccept() {
  acceptor_.async_accept(net::make_strand(io_), [this](ErrorCode ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
    DoAccept();
    if (ec) {
      spdlog::warn("kmip: accept failed: {}", ec.message());
      return;
    }
    socket.set_option(tcp::no_delay(true), ec);
    auto conn = std::make_shared<Connection>(std::move(socket), tls_);
    {
      // Under mu_ with Stop()'s sweep, so no connection escapes it.
      absl::MutexLock lock(&mu_);
      if (stopping_.load() || connections_.load() >= options_.max_connections) {
        conn->Close();
        return;
      }
      live_.insert(conn);
      connections_.fetch_add(1);
    }
    auto executor = conn->stream.get_executor();
    net::co_spawn(executor, Watchdog(conn), net::detached);
    net::co_spawn(executor, Session(std::move(conn)), net::detached);
  });
}

net::awaitable<void> KmipServer::Impl::Watchdog(std::shared_ptr<Connection> conn) {
  while (!conn->closed) {
    conn->armed = conn->deadline;
    conn->timer.expires_at(conn->armed);
    co_await conn->timer.async_wait(kUseTuple);
    conn->armed = SteadyClock::time_point::max();
    if (!conn->closed && SteadyClock::now() >= conn->deadline) conn->Close();
  }
}

net::awaitable<void> KmipServer::Impl::Session(std::shared_ptr<Connection> conn) {
  try {
    co_await Serve(*conn);
  } catch (const std::exception& e) {
    spdlog::error("kmip: connection dropped: {}", e.what());
  }
  conn->Close();
  {
    absl::MutexLock lock(&mu_);
    live_.erase(conn);
  }
  connections_.fetch_sub(1);
}

net::awaitable<void> KmipServer::Impl::Serve(Connection& conn) {
  conn.Deadline(options_.read_timeout);
  auto [hec] = co_await conn.stream.async_handshake(ssl::stream_base::server, kUseTuple);
  if (hec) {
    spdlog::debug("kmip: TLS handshake failed: {}", hec.message());
    co_return;
  }
  KmipPeer peer;
  {
    ErrorCode ec;
    tcp::endpoint remote = conn.stream.next_layer().remote_endpoint(ec);
    if (!ec) peer.address = remote.address().to_string();
    X509* cert = SSL_get1_peer_certificate(conn.stream.native_handle());
    bool ok = cert != nullptr && Identify(cert, peer.certificate_der, peer.certificate_sha256);
    X509_free(cert);
    if (!ok) co_return;  // cannot happen with SSL_VERIFY_FAIL_IF_NO_PEER_CERT
  }

  std::string message;
  std::array<uint8_t, kTtlvHeaderSize> header;
  for (;;) {
    if (stopping_.load()) break;
    conn.Deadline(options_.idle_timeout);
    auto [ec1, n1] = co_await net::async_read(conn.stream, net::buffer(header), kUseTuple);
    if (ec1) co_return;  // closed by the peer, idle timeout or Stop()
    conn.Deadline(options_.read_timeout);
    absl::StatusOr<size_t> size = TtlvMessageSize(header, options_.max_message_bytes);
    if (!size.ok()) {
      // A header that is not a message or a length past the limit: the
      // stream cannot be resynchronised, so the connection is closed.
      spdlog::debug("kmip: refused a message header: {}", size.status().ToString());
      co_return;
    }
    message.assign(reinterpret_cast<const char*>(header.data()), header.size());
    message.resize(*size);
    auto [ec2, n2] = co_await net::async_read(
        conn.stream, net::buffer(message.data() + kTtlvHeaderSize, *size - kTtlvHeaderSize),
        kUseTuple);
    if (ec2) {
      WipeString(message);
      co_return;
    }
    std::string response;
    const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(message.data()),
                                         message.size());
    auto call = [&] {
      try {
        response = handler_(bytes, peer);
      } catch (const std::exception& e) {
        spdlog::error("kmip: handler threw: {}", e.what());
      }
    };
    bool offload = false;
    if (blocking_pool_) {
      try {
        offload = options_.offload(bytes);
      } catch (...) {
        WipeString(message);
        co_return;
      }
    }
    if (offload) {
      // The handler's time is not the message's read time.
      conn.NoDeadline();
      // Resumes on the connection's strand once the pool has run it;
      // message, response and peer live in this suspended frame.
      co_await net::co_spawn(
          blocking_pool_->get_executor(),
          [&]() -> net::awaitable<void> {
            call();
            co_return;
          },
          net::use_awaitable);
      conn.Deadline(options_.read_timeout);
    } else {
      call();
    }
    WipeString(message);
    if (response.empty()) co_return;
    auto [ec3, n3] = co_await net::async_write(conn.stream, net::buffer(response), kUseTuple);
    WipeString(response);
    if (ec3) co_return;
  }
  conn.Deadline(kTlsShutdownTime);
  auto [sec] = co_await conn.stream.async_shutdown(kUseTuple);
  (void)sec;
}

void KmipServer::Impl::Stop() {
  absl::MutexLock stop_lock(&stop_mu_);
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_.exchange(true)) {
      net::post(io_, [this] {
        ErrorCode ignored;
        acceptor_.close(ignored);
      });
      for (const auto& conn : live_) {
        net::post(conn->stream.get_executor(), [conn] { conn->Close(); });
      }
    }
  }
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
  // Every offloaded handler has returned by now (see blocking_pool_).
  if (blocking_pool_) blocking_pool_->join();
}

absl::StatusOr<std::unique_ptr<KmipServer>> KmipServer::Start(KmipServerOptions options,
                                                              KmipHandler handler) {
  if (!handler) return absl::InvalidArgumentError("no handler");
  auto impl = std::make_unique<Impl>(std::move(options), std::move(handler));
  if (absl::Status s = impl->Init(); !s.ok()) return s;
  return std::unique_ptr<KmipServer>(new KmipServer(std::move(impl)));
}

KmipServer::KmipServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
KmipServer::~KmipServer() { impl_->Stop(); }
uint16_t KmipServer::port() const { return impl_->port(); }
void KmipServer::Stop() { impl_->Stop(); }
size_t KmipServer::connection_count() const { return impl_->connection_count(); }

}  // namespace keywarden::api::kmip
