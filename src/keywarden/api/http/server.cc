#include "keywarden/api/http/server.h"

#include <openssl/ssl.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <exception>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/write.hpp>

#include "absl/synchronization/mutex.h"
#include "keywarden/api/http/request_reader.h"
#include "keywarden/common/secret_bytes.h"
#include "spdlog/spdlog.h"

namespace keywarden::api::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using ErrorCode = boost::system::error_code;

// Every async operation completes with (error_code, ...) instead of throwing:
// errors on a connection are ordinary control flow here.
constexpr auto kUseTuple = net::as_tuple(net::use_awaitable);

// Initial read buffer per connection; it grows up to the header/body limits
// and keeps its capacity across requests on the connection.
constexpr size_t kInitialBufferBytes = 4096;
constexpr size_t kMaxReadBytes = 64 * 1024;
// After a rejected request the peer may still be sending its body. Reading
// and discarding it for a while before closing avoids a TCP RST that would
// make the client lose the 413/431 response we just sent.
constexpr auto kLingerTime = std::chrono::milliseconds(1000);
constexpr size_t kLingerMaxBytes = 64 << 20;
constexpr auto kTlsShutdownTime = std::chrono::milliseconds(500);

// Per-connection bookkeeping that the owning worker's sweeper and Stop() use.
// Lives in the session coroutine's frame; linked into its worker's list while
// the session runs. Only touched on the worker's thread, hence no atomics.
// The peer of the request whose handler runs on this thread.
thread_local std::string_view current_peer_address;

struct Connection {
  tcp::socket* socket = nullptr;  // the TCP layer, also under TLS
  std::string peer_address;       // the client's IP, for the handler
  Clock::time_point deadline = Clock::time_point::max();
  bool idle = false;  // waiting for the first byte of the next request
  Connection* prev = nullptr;
  Connection* next = nullptr;

  void Close() {
    ErrorCode ignored;
    socket->shutdown(tcp::socket::shutdown_both, ignored);
    socket->close(ignored);
  }
};

// One I/O thread: its own io_context, its connections and a coarse timer
// that enforces every connection's deadline. Deadlines are plain time points
// updated per request phase (a vDSO clock read), which is much cheaper than
// arming and cancelling an Asio timer per read and write.
struct Worker {
  explicit Worker(Clock::duration sweep_interval)
      : io(1), sweep_timer(io), sweep_interval(sweep_interval) {}

  void Register(Connection* c) {
    c->next = head;
    if (head != nullptr) head->prev = c;
    head = c;
  }

  void Unregister(Connection* c) {
    if (c->prev != nullptr) c->prev->next = c->next;
    if (c->next != nullptr) c->next->prev = c->prev;
    if (head == c) head = c->next;
    c->prev = c->next = nullptr;
    // The sweep timer is the last thing keeping io.run() alive once stopping.
    if (stopping && head == nullptr) sweep_timer.cancel();
  }

  void ArmSweep() {
    sweep_timer.expires_after(sweep_interval);
    sweep_timer.async_wait([this](ErrorCode ec) {
      if (ec) return;
      Clock::time_point now = Clock::now();
      for (Connection* c = head; c != nullptr; c = c->next) {
        // Closing completes the pending operation with an error
        // asynchronously, so the list is not modified while we walk it.
        if (c->deadline <= now) c->Close();
      }
      if (stopping && head == nullptr) return;
      ArmSweep();
    });
  }

  // Runs on this worker's thread.
  void BeginStop() {
    stopping = true;
    for (Connection* c = head; c != nullptr; c = c->next) {
      if (c->idle) c->Close();
    }
    if (head == nullptr) sweep_timer.cancel();
  }

  net::io_context io;
  net::steady_timer sweep_timer;
  Clock::duration sweep_interval;
  Connection* head = nullptr;
  bool stopping = false;
  std::thread thread;
};

// Which server, if any, owns the current thread: Stop() must not join the
// thread it is running on.
thread_local const void* current_server = nullptr;

// Overwrites the read buffer's storage except the bytes not parsed yet (a
// pipelined request), which are kept in place for the next parse.
// `written` counts the bytes committed since the last wipe: a flat_buffer
// starts writing at its beginning once emptied and only ever moves data
// towards it, so no byte past that count was touched and only that prefix
// needs overwriting (a wrap request is a few hundred bytes of a 4 KiB
// buffer). Sets `written` to what stays buffered.
void WipeReadBuffer(beast::flat_buffer& buffer, size_t& written) {
  std::string pending = beast::buffers_to_string(buffer.data());
  buffer.consume(buffer.size());
  // With nothing buffered, prepare() of the whole capacity hands back the
  // whole allocation without reallocating.
  net::mutable_buffer whole = buffer.prepare(buffer.capacity());
  WipeMemory(whole.data(), std::min(written, whole.size()));
  written = pending.size();
  if (!pending.empty()) {
    net::mutable_buffer to = buffer.prepare(pending.size());
    std::memcpy(to.data(), pending.data(), pending.size());
    buffer.commit(pending.size());
    WipeString(pending);
  }
}

// A request or response body may be a plaintext DEK (wrap's request,
// unwrap's response, a standard key's payload), and so may the raw bytes in
// the read buffer: all three are overwritten once the response is written,
// before the memory can be reused or freed. Cheap next to the exchange (a
// few KiB of stores), so every exchange is wiped, not only data-plane ones.
// What this cannot reach: copies a growing buffer left behind in freed
// memory, and TLS record buffers inside OpenSSL.
void WipeExchange(Request& request, Response& response,
                  beast::flat_buffer& buffer, size_t& written) {
  WipeString(request.body());
  WipeString(response.body());
  WipeReadBuffer(buffer, written);
}

bool ExpectsContinue(const Request& header) {
  auto it = header.find(bhttp::field::expect);
  if (it == header.end()) return false;
  return beast::iequals(it->value(), "100-continue");
}

}  // namespace

class HttpServer::Impl {
 public:
  Impl(HttpServerOptions options, Handler handler)
      : options_(std::move(options)), handler_(std::move(handler)) {}

  ~Impl() {
    StopAndJoin();
    // Run the io_contexts' destructors (which destroy unstarted session
    // frames) while connections_ and tls_ are still alive.
    accept_retry_timer_.reset();
    acceptor_.reset();
    workers_.clear();
  }

  absl::Status Init();
  void StopAndJoin() {
    RequestStop();
    Join();
  }
  void RequestStop();
  void Join();
  bool OnOwnThread() const { return current_server == this; }

  const std::string& host() const { return host_; }
  uint16_t port() const { return port_; }
  bool tls() const { return tls_.has_value(); }
  size_t connection_count() const {
    return connections_.load(std::memory_order_relaxed);
  }

 private:
  void DoAccept();
  void OnAccept(Worker& target, ErrorCode ec, tcp::socket socket);

  template <typename Stream>
  net::awaitable<void> RunSession(Worker& worker, Stream stream);
  template <typename Stream>
  net::awaitable<void> ServeRequests(Worker& worker, Connection& conn,
                                     Stream& stream);
  template <typename Stream>
  net::awaitable<void> SendErrorAndLinger(Connection& conn, Stream& stream,
                                          HttpStatus status,
                                          unsigned version);
  void CallHandler(const Request& request, Response& response);
  // Whether the request goes to the blocking pool; a throwing predicate
  // answers 500 itself and sets `failed`.
  bool WantsOffload(const Request& request, Response& response, bool& failed);
  // Runs the handler on a pool thread as if on the connection's I/O thread.
  void CallHandlerOffloaded(const Connection& conn, const Request& request,
                            Response& response);

  const HttpServerOptions options_;
  const Handler handler_;
  std::string host_;
  uint16_t port_ = 0;
  std::optional<ssl::context> tls_;
  std::atomic<size_t> connections_{0};
  std::atomic<bool> stop_requested_{false};
  std::vector<std::unique_ptr<Worker>> workers_;
  // On workers_[0]; only touched from that thread after Init().
  std::optional<tcp::acceptor> acceptor_;
  std::optional<net::steady_timer> accept_retry_timer_;
  size_t next_worker_ = 0;
  // The blocking pool, when options_.offload is set. Its threads only run
  // handlers; each offloaded call holds outstanding work on the I/O thread
  // that waits for it, so an io_context never runs out of work (and its
  // thread never exits) while one of its requests is in the pool.
  std::optional<net::thread_pool> blocking_pool_;
  absl::Mutex join_mu_;
};

absl::Status HttpServer::Impl::Init() {
  if (options_.tls_cert_file.has_value() != options_.tls_key_file.has_value()) {
    return absl::InvalidArgumentError(
        "TLS needs both a certificate and a key file");
  }
  if (options_.tls_cert_file) {
    tls_.emplace(ssl::context::tls_server);
    ErrorCode ec;
    // TLS 1.2 is the floor (Key Protect's own endpoints require it).
    if (SSL_CTX_set_min_proto_version(tls_->native_handle(), TLS1_2_VERSION) !=
        1) {
      return absl::InternalError("cannot set the minimum TLS version");
    }
    tls_->set_options(ssl::context::default_workarounds |
                          ssl::context::no_compression |
                          ssl::context::single_dh_use,
                      ec);
    tls_->use_certificate_chain_file(*options_.tls_cert_file, ec);
    if (ec) {
      return absl::InvalidArgumentError("cannot load TLS certificate " +
                                        *options_.tls_cert_file + ": " +
                                        ec.message());
    }
    tls_->use_private_key_file(*options_.tls_key_file, ssl::context::pem, ec);
    if (ec) {
      return absl::InvalidArgumentError("cannot load TLS key " +
                                        *options_.tls_key_file + ": " +
                                        ec.message());
    }
    if (SSL_CTX_check_private_key(tls_->native_handle()) != 1) {
      return absl::InvalidArgumentError(
          "TLS key does not match the certificate");
    }
  }

  if (options_.offload) {
    if (options_.blocking_threads < 1) {
      return absl::InvalidArgumentError(
          "offload needs blocking_threads of at least 1");
    }
    blocking_pool_.emplace(static_cast<size_t>(options_.blocking_threads));
  }

  int threads = options_.threads > 0
                    ? options_.threads
                    : static_cast<int>(std::thread::hardware_concurrency());
  threads = std::max(threads, 1);
  Clock::duration sweep =
      std::min(options_.read_timeout, options_.idle_timeout) / 4;
  sweep = std::clamp<Clock::duration>(sweep, std::chrono::milliseconds(5),
                                      std::chrono::seconds(1));
  for (int i = 0; i < threads; ++i) {
    workers_.push_back(std::make_unique<Worker>(sweep));
  }

  ErrorCode ec;
  tcp::resolver resolver(workers_[0]->io);
  auto results = resolver.resolve(options_.host, std::to_string(options_.port),
                                  tcp::resolver::passive, ec);
  if (ec || results.empty()) {
    return absl::InvalidArgumentError("cannot resolve listen host " +
                                      options_.host + ": " + ec.message());
  }
  tcp::endpoint endpoint = results.begin()->endpoint();
  acceptor_.emplace(workers_[0]->io);
  accept_retry_timer_.emplace(workers_[0]->io);
  if (acceptor_->open(endpoint.protocol(), ec); ec) {
    return absl::UnavailableError("socket: " + ec.message());
  }
  acceptor_->set_option(net::socket_base::reuse_address(true), ec);
  if (acceptor_->bind(endpoint, ec); ec) {
    return absl::UnavailableError("cannot bind " + options_.host + ":" +
                                  std::to_string(options_.port) + ": " +
                                  ec.message());
  }
  if (acceptor_->listen(net::socket_base::max_listen_connections, ec); ec) {
    return absl::UnavailableError("listen: " + ec.message());
  }
  tcp::endpoint bound = acceptor_->local_endpoint(ec);
  host_ = bound.address().to_string();
  port_ = bound.port();

  // Everything below runs on the workers' threads from here on.
  DoAccept();
  for (auto& worker : workers_) worker->ArmSweep();
  for (auto& worker : workers_) {
    Worker* w = worker.get();
    w->thread = std::thread([this, w] {
      current_server = this;
      // Handlers and coroutines catch their own exceptions; this is the last
      // line of defence so one bug does not take the whole thread down.
      for (;;) {
        try {
          w->io.run();
          break;
        } catch (const std::exception& e) {
          spdlog::error("http: exception escaped an I/O handler: {}",
                        e.what());
        } catch (...) {
          spdlog::error("http: unknown exception escaped an I/O handler");
        }
      }
    });
  }
  return absl::OkStatus();
}

void HttpServer::Impl::DoAccept() {
  // Round-robin: the new socket belongs to the target worker's io_context
  // from the start, so it never migrates between threads.
  Worker& target = *workers_[next_worker_];
  next_worker_ = (next_worker_ + 1) % workers_.size();
  acceptor_->async_accept(
      target.io, [this, &target](ErrorCode ec, tcp::socket socket) {
        OnAccept(target, ec, std::move(socket));
      });
}

void HttpServer::Impl::OnAccept(Worker& target, ErrorCode ec,
                                tcp::socket socket) {
  if (ec == net::error::operation_aborted || !acceptor_->is_open()) return;
  if (ec) {
    // Typically EMFILE/ENFILE: back off briefly instead of spinning.
    spdlog::warn("http: accept failed: {}", ec.message());
    accept_retry_timer_->expires_after(std::chrono::milliseconds(50));
    accept_retry_timer_->async_wait([this](ErrorCode ec) {
      if (!ec && acceptor_->is_open()) DoAccept();
    });
    return;
  }
  DoAccept();
  if (connections_.load(std::memory_order_relaxed) >=
      options_.max_connections) {
    ErrorCode ignored;
    socket.close(ignored);
    return;
  }
  connections_.fetch_add(1, std::memory_order_relaxed);
  // Small request/response exchanges: do not let Nagle delay the response.
  socket.set_option(tcp::no_delay(true), ec);
  auto on_done = [](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      spdlog::error("http: session ended by exception: {}", ex.what());
    } catch (...) {
      spdlog::error("http: session ended by unknown exception");
    }
  };
  if (tls_) {
    net::co_spawn(target.io,
                  RunSession(target, ssl::stream<tcp::socket>(
                                         std::move(socket), *tls_)),
                  on_done);
  } else {
    net::co_spawn(target.io, RunSession(target, std::move(socket)), on_done);
  }
}

template <typename Stream>
net::awaitable<void> HttpServer::Impl::RunSession(Worker& worker,
                                                  Stream stream) {
  struct CountGuard {
    std::atomic<size_t>& n;
    ~CountGuard() { n.fetch_sub(1, std::memory_order_relaxed); }
  } count_guard{connections_};
  if (worker.stopping) co_return;  // accepted just before Stop()

  Connection conn;
  if constexpr (std::is_same_v<Stream, tcp::socket>) {
    conn.socket = &stream;
  } else {
    conn.socket = &stream.next_layer();
  }
  {
    ErrorCode ec;
    tcp::endpoint peer = conn.socket->remote_endpoint(ec);
    if (!ec) conn.peer_address = peer.address().to_string();
  }
  worker.Register(&conn);
  struct UnregisterGuard {
    Worker& w;
    Connection& c;
    ~UnregisterGuard() { w.Unregister(&c); }
  } unregister_guard{worker, conn};

  try {
    co_await ServeRequests(worker, conn, stream);
  } catch (const std::exception& e) {
    // Only allocation failures and the like can get here.
    spdlog::error("http: connection dropped: {}", e.what());
  }
  ErrorCode ignored;
  conn.socket->close(ignored);
}

template <typename Stream>
net::awaitable<void> HttpServer::Impl::ServeRequests(Worker& worker,
                                                     Connection& conn,
                                                     Stream& stream) {
  constexpr bool kTls = !std::is_same_v<Stream, tcp::socket>;
  if constexpr (kTls) {
    conn.deadline = Clock::now() + options_.read_timeout;
    auto [ec] = co_await stream.async_handshake(ssl::stream_base::server,
                                                kUseTuple);
    if (ec) {
      spdlog::debug("http: TLS handshake failed: {}", ec.message());
      co_return;
    }
  }

  beast::flat_buffer buffer;
  buffer.reserve(kInitialBufferBytes);
  size_t written = 0;  // bytes committed to `buffer` since its last wipe
  RequestReader reader;
  const RequestLimits limits{.header_bytes = options_.max_header_bytes,
                             .body_bytes = options_.max_body_bytes};

  for (;;) {
    // Idle phase: wait for the first byte of the next request, unless a
    // pipelined request is already buffered.
    if (buffer.size() == 0) {
      if (worker.stopping) co_return;
      conn.idle = true;
      conn.deadline = Clock::now() + options_.idle_timeout;
      auto [ec, n] = co_await stream.async_read_some(
          buffer.prepare(beast::read_size(buffer, kMaxReadBytes)), kUseTuple);
      conn.idle = false;
      if (ec) co_return;  // peer closed, idle timeout or Stop()
      buffer.commit(n);
      written += n;
    }

    // Read phase: the whole request must arrive within read_timeout.
    conn.deadline = Clock::now() + options_.read_timeout;
    reader.Start(limits);
    bool sent_continue = false;
    for (;;) {
      if (std::optional<HttpStatus> status = reader.Parse(buffer)) {
        WipeString(reader.body());
        WipeReadBuffer(buffer, written);
        co_await SendErrorAndLinger(conn, stream, *status, reader.version());
        co_return;
      }
      if (reader.done()) break;
      if (!sent_continue && reader.header_done() &&
          ExpectsContinue(reader.header())) {
        // curl sends Expect for larger bodies and waits a second otherwise.
        static constexpr std::string_view kContinue =
            "HTTP/1.1 100 Continue\r\n\r\n";
        auto [wec, wn] = co_await net::async_write(
            stream, net::buffer(kContinue.data(), kContinue.size()),
            kUseTuple);
        if (wec) co_return;
        sent_continue = true;
      }
      auto [rec, n] = co_await stream.async_read_some(
          buffer.prepare(beast::read_size(buffer, kMaxReadBytes)), kUseTuple);
      if (rec) co_return;  // an I/O error or timeout: nobody to answer
      buffer.commit(n);
      written += n;
    }

    Request request = reader.Release();
    Response response{HttpStatus::ok, request.version()};
    bool predicate_failed = false;
    if (WantsOffload(request, response, predicate_failed)) {
      // The sweeper keeps running while this coroutine is suspended; the
      // handler's time is not the request's read time.
      conn.deadline = Clock::time_point::max();
      // co_spawn onto the pool; use_awaitable resumes this coroutine on the
      // connection's own executor (its I/O thread) once the handler is
      // done. request, response and conn live in this suspended frame.
      co_await net::co_spawn(
          blocking_pool_->get_executor(),
          [&]() -> net::awaitable<void> {
            CallHandlerOffloaded(conn, request, response);
            co_return;
          },
          net::use_awaitable);
    } else if (!predicate_failed) {
      current_peer_address = conn.peer_address;
      CallHandler(request, response);
      current_peer_address = {};
    }

    // stop_requested_ rather than worker.stopping: the posted BeginStop may
    // still be queued behind this request, and the client should learn now
    // that the connection is going away.
    bool keep_alive = request.keep_alive() &&
                      !stop_requested_.load(std::memory_order_relaxed);
    response.keep_alive(keep_alive);
    response.erase(bhttp::field::server);
    response.prepare_payload();
    if (request.method() == bhttp::verb::head) {
      // Keep the Content-Length of the would-be body but send none.
      response.body().clear();
    }

    conn.deadline = Clock::now() + options_.read_timeout;
    auto [wec, wn] = co_await bhttp::async_write(stream, response, kUseTuple);
    WipeExchange(request, response, buffer, written);
    if (options_.after_response) options_.after_response(request, response);
    if (wec) co_return;
    if (!keep_alive) break;
  }

  // Orderly close after a "Connection: close" exchange or during Stop().
  if constexpr (kTls) {
    conn.deadline = Clock::now() + std::min<Clock::duration>(
                                       options_.read_timeout, kTlsShutdownTime);
    auto [ec] = co_await stream.async_shutdown(kUseTuple);
    (void)ec;  // peers often just drop the connection; nothing to do
  } else {
    ErrorCode ignored;
    stream.shutdown(tcp::socket::shutdown_send, ignored);
  }
}

template <typename Stream>
net::awaitable<void> HttpServer::Impl::SendErrorAndLinger(
    Connection& conn, Stream& stream, HttpStatus status, unsigned version) {
  Response response{status, version == 10 ? 10u : 11u};
  if (options_.error_responder) {
    try {
      options_.error_responder(status, response);
    } catch (const std::exception& e) {
      spdlog::error("http: error responder threw: {}", e.what());
      response = Response{status, 11};
    }
  }
  response.result(status);
  response.keep_alive(false);
  response.erase(bhttp::field::server);
  response.prepare_payload();
  conn.deadline = Clock::now() + options_.read_timeout;
  auto [wec, wn] = co_await bhttp::async_write(stream, response, kUseTuple);
  if (wec) co_return;

  // Half-close, then drain what the peer is still sending (bounded in time
  // and bytes) so the close does not turn into an RST that destroys the
  // response in the peer's receive buffer. Raw TCP bytes are discarded, which
  // is fine under TLS too: nothing more will be decrypted.
  ErrorCode ignored;
  conn.socket->shutdown(tcp::socket::shutdown_send, ignored);
  conn.deadline =
      Clock::now() + std::min<Clock::duration>(options_.read_timeout,
                                               kLingerTime);
  std::array<char, 16 * 1024> sink;
  size_t drained = 0;
  while (drained < kLingerMaxBytes) {
    auto [ec, n] =
        co_await conn.socket->async_read_some(net::buffer(sink), kUseTuple);
    if (ec) break;
    drained += n;
  }
}

void HttpServer::Impl::CallHandler(const Request& request,
                                   Response& response) {
  try {
    handler_(request, response);
    return;
  } catch (const std::exception& e) {
    spdlog::error("http: handler threw: {}", e.what());
  } catch (...) {
    spdlog::error("http: handler threw a non-exception");
  }
  response = Response{HttpStatus::internal_server_error, request.version()};
}

bool HttpServer::Impl::WantsOffload(const Request& request,
                                    Response& response, bool& failed) {
  if (!blocking_pool_) return false;
  try {
    return options_.offload(request);
  } catch (const std::exception& e) {
    spdlog::error("http: offload predicate threw: {}", e.what());
  } catch (...) {
    spdlog::error("http: offload predicate threw a non-exception");
  }
  failed = true;
  response = Response{HttpStatus::internal_server_error, request.version()};
  return false;
}

void HttpServer::Impl::CallHandlerOffloaded(const Connection& conn,
                                            const Request& request,
                                            Response& response) {
  // What an I/O thread's handler sees: its peer's address, and a
  // current_server that makes Stop() from the handler only initiate the
  // shutdown (joining would wait for this very thread).
  const void* previous_server = current_server;
  current_server = this;
  current_peer_address = conn.peer_address;
  CallHandler(request, response);
  current_peer_address = {};
  current_server = previous_server;
}

void HttpServer::Impl::RequestStop() {
  if (stop_requested_.exchange(true)) return;
  if (workers_.empty()) return;
  net::post(workers_[0]->io, [this] {
    ErrorCode ignored;
    acceptor_->close(ignored);
    accept_retry_timer_->cancel();
  });
  for (auto& worker : workers_) {
    Worker* w = worker.get();
    net::post(w->io, [w] { w->BeginStop(); });
  }
}

void HttpServer::Impl::Join() {
  absl::MutexLock lock(&join_mu_);
  for (auto& worker : workers_) {
    if (worker->thread.joinable()) worker->thread.join();
  }
  // Every offloaded handler has finished by now: each kept its I/O thread
  // from exiting until it returned. Joining is idempotent.
  if (blocking_pool_) blocking_pool_->join();
}

// ---------------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(
    HttpServerOptions options, Handler handler) {
  if (!handler) return absl::InvalidArgumentError("no handler");
  auto impl = std::make_unique<Impl>(std::move(options), std::move(handler));
  if (absl::Status s = impl->Init(); !s.ok()) return s;
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { impl_->StopAndJoin(); }

const std::string& HttpServer::host() const { return impl_->host(); }
uint16_t HttpServer::port() const { return impl_->port(); }
bool HttpServer::tls() const { return impl_->tls(); }

std::string HttpServer::endpoint() const {
  const std::string& h = impl_->host();
  std::string port = std::to_string(impl_->port());
  if (h.find(':') != std::string::npos) return "[" + h + "]:" + port;
  return h + ":" + port;
}

void HttpServer::Stop() {
  impl_->RequestStop();
  // From a handler, joining would wait on ourselves; Wait() or the
  // destructor joins instead.
  if (!impl_->OnOwnThread()) impl_->Join();
}

void HttpServer::Wait() { impl_->Join(); }

size_t HttpServer::connection_count() const {
  return impl_->connection_count();
}

std::string_view CurrentPeerAddress() { return current_peer_address; }

}  // namespace keywarden::api::http
