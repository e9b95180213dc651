#include "collector/incidents/syslog_forwarder.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

namespace vigil::collector::incidents {
namespace {

std::string OpensslErrors() {
  std::string out;
  unsigned long code = 0;
  while ((code = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

// One TLS connection to the receiver.
class Connection {
 public:
  Connection(int fd, SSL* ssl) : fd_(fd), ssl_(ssl) {}
  ~Connection() {
    if (ssl_ != nullptr) {
      SSL_shutdown(ssl_);
      SSL_free(ssl_);
    }
    if (fd_ >= 0) ::close(fd_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  /// False when the receiver closed the connection (EOF or TLS close/alert).
  /// Consumes post-handshake messages (TLS 1.3 session tickets) on the way.
  bool StillOpen() {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0) return true;
    if ((p.revents & (POLLERR | POLLHUP | POLLNVAL)) != 0) return false;
    const int flags = ::fcntl(fd_, F_GETFL);
    ::fcntl(fd_, F_SETFL, flags | O_NONBLOCK);
    bool open = true;
    char buf[256];
    for (;;) {
      const int n = SSL_read(ssl_, buf, sizeof buf);
      if (n > 0) continue;  // a syslog receiver has nothing to say; ignore it
      const int err = SSL_get_error(ssl_, n);
      if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) open = false;
      break;
    }
    ERR_clear_error();
    ::fcntl(fd_, F_SETFL, flags);
    return open;
  }

  bool WriteAll(std::string_view bytes) {
    while (!bytes.empty()) {
      const int n = SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size()));
      if (n <= 0) {
        ERR_clear_error();
        return false;
      }
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

 private:
  int fd_;
  SSL* ssl_;
};

enum class ConnectFailure { kNone, kTcp, kTls };

}  // namespace

struct SyslogForwarder::Tls {
  SSL_CTX* ctx = nullptr;
  ~Tls() {
    if (ctx != nullptr) SSL_CTX_free(ctx);
  }
};

SyslogForwarder::SyslogForwarder(const ForwardingConfig& config)
    : config_(config), tls_(std::make_unique<Tls>()) {
  if (config_.server_name.empty()) config_.server_name = config_.host;
}

std::expected<std::unique_ptr<SyslogForwarder>, StoreError> SyslogForwarder::Start(
    const ForwardingConfig& config) {
  auto bad = [](std::string message) {
    return std::unexpected(StoreError{ErrorCode::kInvalidArgument, "forwarding: " + message});
  };
  if (config.host.empty()) return bad("host is required");
  if (config.ca_file.empty()) return bad("ca_file is required (the receiver must be verified)");
  if (config.client_cert_file.empty() != config.client_key_file.empty()) {
    return bad("client_cert_file and client_key_file go together");
  }
  if (config.buffer_capacity == 0) return bad("buffer_capacity must be at least 1");
  std::unique_ptr<SyslogForwarder> f(new SyslogForwarder(config));
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) return bad("SSL_CTX_new: " + OpensslErrors());
  f->tls_->ctx = ctx;
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  if (SSL_CTX_load_verify_locations(ctx, config.ca_file.c_str(), nullptr) != 1) {
    return bad("cannot load CA file " + config.ca_file.string() + ": " + OpensslErrors());
  }
  if (!config.client_cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx, config.client_cert_file.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, config.client_key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
      return bad("cannot load client certificate/key: " + OpensslErrors());
    }
  }
  f->thread_ = std::thread([raw = f.get()] { raw->Run(); });
  return f;
}

SyslogForwarder::~SyslogForwarder() { Stop(std::chrono::milliseconds(0)); }

void SyslogForwarder::Submit(std::string message) {
  stats_.submitted.fetch_add(1, std::memory_order_relaxed);
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      stats_.dropped_shutdown.fetch_add(1);
      return;
    }
    if (buffer_.size() >= config_.buffer_capacity) {
      // Drop the oldest: for live response the newest alerts matter most,
      // and every alert remains in the incident log.
      buffer_.pop_front();
      stats_.dropped_buffer_full.fetch_add(1);
    } else {
      stats_.buffered.fetch_add(1);
    }
    buffer_.push_back(std::move(message));
  }
  cv_.notify_one();
}

void SyslogForwarder::Stop(std::chrono::milliseconds drain) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      stopping_ = true;
      drain_deadline_ = std::chrono::steady_clock::now() + drain;
    }
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mu_);
  stats_.dropped_shutdown.fetch_add(buffer_.size());
  stats_.buffered.fetch_sub(buffer_.size());
  buffer_.clear();
}

void SyslogForwarder::Run() {
  using Clock = std::chrono::steady_clock;
  std::unique_ptr<Connection> conn;
  auto backoff = config_.backoff_initial;
  std::mt19937_64 rng(std::random_device{}());
  const int timeout_ms = static_cast<int>(config_.io_timeout.count());

  auto connect = [&](ConnectFailure& failure) -> std::unique_ptr<Connection> {
    failure = ConnectFailure::kTcp;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    const std::string port = std::to_string(config_.port);
    if (::getaddrinfo(config_.host.c_str(), port.c_str(), &hints, &res) != 0) return nullptr;
    int fd = -1;
    for (addrinfo* ai = res; ai != nullptr && fd < 0; ai = ai->ai_next) {
      fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
      if (fd < 0) continue;
      int rc = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
      if (rc != 0 && errno == EINPROGRESS) {
        pollfd p{fd, POLLOUT, 0};
        int err = 0;
        socklen_t len = sizeof err;
        rc = ::poll(&p, 1, timeout_ms) == 1 &&
                     ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0
                 ? 0
                 : -1;
      }
      if (rc != 0) {
        ::close(fd);
        fd = -1;
      }
    }
    ::freeaddrinfo(res);
    if (fd < 0) return nullptr;
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

    failure = ConnectFailure::kTls;
    SSL* ssl = SSL_new(tls_->ctx);
    if (ssl == nullptr) {
      ::close(fd);
      return nullptr;
    }
    auto result = std::make_unique<Connection>(fd, ssl);
    SSL_set_fd(ssl, fd);
    in6_addr addr6{};
    in_addr addr4{};
    const bool is_ip = ::inet_pton(AF_INET, config_.server_name.c_str(), &addr4) == 1 ||
                       ::inet_pton(AF_INET6, config_.server_name.c_str(), &addr6) == 1;
    if (is_ip) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), config_.server_name.c_str());
    } else {
      SSL_set_tlsext_host_name(ssl, config_.server_name.c_str());
      SSL_set1_host(ssl, config_.server_name.c_str());
    }
    if (SSL_connect(ssl) != 1 || SSL_get_verify_result(ssl) != X509_V_OK) {
      ERR_clear_error();
      return nullptr;
    }
    failure = ConnectFailure::kNone;
    return result;
  };

  for (;;) {
    std::string message;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !buffer_.empty(); });
      if (buffer_.empty() || (stopping_ && Clock::now() >= drain_deadline_)) break;
      message = std::move(buffer_.front());
      buffer_.pop_front();
    }
    auto requeue = [&] {
      std::lock_guard lock(mu_);
      buffer_.push_front(std::move(message));
    };

    if (conn && !conn->StillOpen()) {
      conn.reset();
      stats_.connected.store(false);
    }
    if (!conn) {
      ConnectFailure failure = ConnectFailure::kNone;
      conn = connect(failure);
      if (!conn) {
        (failure == ConnectFailure::kTls ? stats_.tls_failures : stats_.connect_failures)
            .fetch_add(1);
        requeue();
        // Backoff with jitter (50-100 %), interrupted by Stop().
        std::uniform_int_distribution<int64_t> jitter(backoff.count() / 2, backoff.count());
        const auto wait = std::chrono::milliseconds(jitter(rng));
        std::unique_lock lock(mu_);
        if (stopping_) break;
        cv_.wait_for(lock, wait, [&] { return stopping_; });
        backoff = std::min(backoff * 2, config_.backoff_max);
        continue;
      }
      stats_.connections.fetch_add(1);
      stats_.connected.store(true);
      backoff = config_.backoff_initial;
    }
    // RFC 5425 section 4.3: octet-counting, "MSG-LEN SP SYSLOG-MSG".
    const std::string frame = std::to_string(message.size()) + " " + message;
    if (!conn->WriteAll(frame)) {
      stats_.write_failures.fetch_add(1);
      conn.reset();
      stats_.connected.store(false);
      requeue();
      continue;
    }
    stats_.forwarded.fetch_add(1);
    stats_.buffered.fetch_sub(1);
  }
  conn.reset();
  stats_.connected.store(false);
}

}  // namespace vigil::collector::incidents
