// SyslogForwarder against a real TLS receiver started by the test (OpenSSL
// server on 127.0.0.1, certificates from a throwaway CA made with the openssl
// CLI): delivery with RFC 5425 framing, receiver down then up, overflow
// accounting, certificate verification, and forwarding from the store.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <fstream>
#include <mutex>
#include <thread>

#include "collector/incidents/syslog_forwarder.h"
#include "tests/collector/incidents/store_fixture.h"

namespace vigil::collector::incidents::testing {
namespace {

constexpr auto kWait = std::chrono::seconds(30);

bool Run(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0; }

/// Test-only CA, server certificate (127.0.0.1 / localhost) and a second,
/// unrelated CA.
struct TestPki {
  std::filesystem::path dir;
  explicit TestPki(const std::filesystem::path& d) : dir(d) {
    const std::string p = dir.string();
    const std::string ec = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";
    EXPECT_TRUE(Run("openssl req -x509 " + ec + " -keyout " + p + "/ca.key -out " + p +
                    "/ca.pem -days 1 -subj /CN=vigil-test-ca -addext "
                    "basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign"));
    EXPECT_TRUE(Run("openssl req -x509 " + ec + " -keyout " + p + "/other.key -out " + p +
                    "/other.pem -days 1 -subj /CN=other-ca -addext "
                    "basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign"));
    EXPECT_TRUE(Run("openssl req " + ec + " -keyout " + p + "/srv.key -out " + p +
                    "/srv.csr -subj /CN=siem"));
    std::ofstream(dir / "ext") << "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                                  "extendedKeyUsage=serverAuth\nkeyUsage=digitalSignature\n";
    EXPECT_TRUE(Run("openssl x509 -req -in " + p + "/srv.csr -CA " + p + "/ca.pem -CAkey " + p +
                    "/ca.key -CAcreateserial -out " + p + "/srv.pem -days 1 -extfile " + p +
                    "/ext"));
  }
};

/// A minimal RFC 5425 receiver: accepts TLS connections one at a time and
/// collects octet-counted messages.
class TlsReceiver {
 public:
  TlsReceiver(const TestPki& pki, uint16_t port) {
    ctx_ = SSL_CTX_new(TLS_server_method());
    EXPECT_EQ(SSL_CTX_use_certificate_file(ctx_, (pki.dir / "srv.pem").c_str(), SSL_FILETYPE_PEM),
              1);
    EXPECT_EQ(SSL_CTX_use_PrivateKey_file(ctx_, (pki.dir / "srv.key").c_str(), SSL_FILETYPE_PEM),
              1);
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0) << strerror(errno);
    EXPECT_EQ(listen(fd_, 4), 0);
    socklen_t len = sizeof addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~TlsReceiver() { Stop(); }

  void Stop() {
    if (stop_.exchange(true)) return;
    thread_.join();
    close(fd_);
    SSL_CTX_free(ctx_);
  }
  uint16_t port() const { return port_; }

  bool WaitFor(size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kWait, [&] { return messages_.size() >= n; });
  }
  std::vector<std::string> messages() {
    std::lock_guard lock(mu_);
    return messages_;
  }

 private:
  bool Readable(int fd) {
    pollfd p{fd, POLLIN, 0};
    return poll(&p, 1, 20) == 1;
  }
  void Serve() {
    while (!stop_) {
      if (!Readable(fd_)) continue;
      const int conn = accept(fd_, nullptr, nullptr);
      if (conn < 0) continue;
      SSL* ssl = SSL_new(ctx_);
      SSL_set_fd(ssl, conn);
      if (SSL_accept(ssl) == 1) {
        std::string buffer;
        char chunk[4096];
        while (!stop_) {
          if (SSL_pending(ssl) == 0 && !Readable(conn)) continue;
          const int n = SSL_read(ssl, chunk, sizeof chunk);
          if (n <= 0) break;
          buffer.append(chunk, static_cast<size_t>(n));
          for (;;) {  // RFC 5425: MSG-LEN SP SYSLOG-MSG
            const auto sp = buffer.find(' ');
            if (sp == std::string::npos) break;
            const size_t len = std::stoul(buffer.substr(0, sp));
            if (buffer.size() < sp + 1 + len) break;
            {
              std::lock_guard lock(mu_);
              messages_.push_back(buffer.substr(sp + 1, len));
            }
            cv_.notify_all();
            buffer.erase(0, sp + 1 + len);
          }
        }
        SSL_shutdown(ssl);
      }
      SSL_free(ssl);
      close(conn);
    }
  }

  SSL_CTX* ctx_ = nullptr;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> messages_;
};

/// A port with nothing listening (bound once by the kernel, then released).
uint16_t FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

template <typename Pred>
bool Eventually(Pred pred) {
  const auto deadline = std::chrono::steady_clock::now() + kWait;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

class ForwarderTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    pki_ = std::make_unique<TestPki>(dir_);
  }
  ForwardingConfig Config(uint16_t port) {
    ForwardingConfig c;
    c.enabled = true;
    c.host = "127.0.0.1";
    c.port = port;
    c.ca_file = dir_ / "ca.pem";
    c.backoff_initial = std::chrono::milliseconds(20);
    c.backoff_max = std::chrono::milliseconds(100);
    c.io_timeout = std::chrono::milliseconds(2000);
    return c;
  }
  static void ExpectAccounting(const ForwarderStats& s) {
    EXPECT_EQ(s.submitted.load(), s.forwarded.load() + s.buffered.load() +
                                      s.dropped_buffer_full.load() + s.dropped_shutdown.load());
  }
  std::unique_ptr<TestPki> pki_;
};

TEST_F(ForwarderTest, DeliversInOrderWithOctetCounting) {
  TlsReceiver receiver(*pki_, 0);
  auto f = SyslogForwarder::Start(Config(receiver.port()));
  ASSERT_TRUE(f.has_value()) << f.error().message;
  for (int i = 0; i < 5; ++i)
    (*f)->Submit("<34>1 - host vigil - alert - message " + std::to_string(i));
  (*f)->Submit("multi\nline with spaces ");
  ASSERT_TRUE(receiver.WaitFor(6)) << "tls_failures=" << (*f)->stats().tls_failures.load()
                                   << " connect_failures=" << (*f)->stats().connect_failures.load()
                                   << " connections=" << (*f)->stats().connections.load()
                                   << " write_failures=" << (*f)->stats().write_failures.load();
  const auto got = receiver.messages();
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(got[i], "<34>1 - host vigil - alert - message " + std::to_string(i));
  EXPECT_EQ(got[5], "multi\nline with spaces ");
  ASSERT_TRUE(Eventually([&] { return (*f)->stats().forwarded.load() == 6; }));
  EXPECT_EQ((*f)->stats().connections.load(), 1u);
  ExpectAccounting((*f)->stats());
}

TEST_F(ForwarderTest, BuffersWhileReceiverIsDownAndDeliversInOrderWhenItComesUp) {
  const uint16_t port = FreePort();
  auto f = SyslogForwarder::Start(Config(port));
  ASSERT_TRUE(f.has_value());
  for (int i = 0; i < 10; ++i) (*f)->Submit("m" + std::to_string(i));
  ASSERT_TRUE(Eventually([&] { return (*f)->stats().connect_failures.load() >= 2; }));
  EXPECT_EQ((*f)->stats().forwarded.load(), 0u);
  EXPECT_GE((*f)->stats().buffered.load(), 9u);
  ExpectAccounting((*f)->stats());

  TlsReceiver receiver(*pki_, port);
  ASSERT_TRUE(receiver.WaitFor(10));
  const auto got = receiver.messages();
  for (int i = 0; i < 10; ++i) EXPECT_EQ(got[i], "m" + std::to_string(i));

  // The receiver restarts: the forwarder notices the closed session and reconnects.
  receiver.Stop();
  TlsReceiver again(*pki_, port);
  for (int i = 10; i < 13; ++i) (*f)->Submit("m" + std::to_string(i));
  ASSERT_TRUE(again.WaitFor(3));
  EXPECT_EQ(again.messages()[0], "m10");
  EXPECT_EQ(again.messages()[2], "m12");
  ASSERT_TRUE(Eventually([&] { return (*f)->stats().forwarded.load() == 13; }));
  EXPECT_GE((*f)->stats().connections.load(), 2u);
  ExpectAccounting((*f)->stats());
}

TEST_F(ForwarderTest, OverflowDropsOldestAndCountsIt) {
  const uint16_t port = FreePort();
  auto config = Config(port);
  config.buffer_capacity = 5;
  config.backoff_initial = std::chrono::milliseconds(5000);  // stay disconnected while we submit
  config.backoff_max = std::chrono::milliseconds(5000);
  auto f = SyslogForwarder::Start(config);
  ASSERT_TRUE(f.has_value());
  ASSERT_TRUE(Eventually([&] {
    (*f)->Submit("probe");
    return (*f)->stats().connect_failures.load() >= 1;
  }));
  const uint64_t probes = (*f)->stats().submitted.load();
  for (int i = 0; i < 12; ++i) (*f)->Submit("m" + std::to_string(i));
  const auto& s = (*f)->stats();
  // At most capacity + 1 (one message in the sender's hands) survive.
  EXPECT_GE(s.dropped_buffer_full.load(), probes + 12 - 6);
  ExpectAccounting(s);
  (*f)->Stop(std::chrono::milliseconds(0));
  EXPECT_EQ(s.buffered.load(), 0u);
  EXPECT_GT(s.dropped_shutdown.load(), 0u);
  ExpectAccounting(s);
}

TEST_F(ForwarderTest, NewestSurviveOverflowAndArriveInOrder) {
  const uint16_t port = FreePort();
  auto config = Config(port);
  config.buffer_capacity = 3;
  auto f = SyslogForwarder::Start(config);
  ASSERT_TRUE(f.has_value());
  for (int i = 0; i < 20; ++i) (*f)->Submit("m" + std::to_string(i));
  TlsReceiver receiver(*pki_, port);
  ASSERT_TRUE(Eventually([&] {
    const auto& s = (*f)->stats();
    return s.buffered.load() == 0;
  }));
  ASSERT_TRUE(receiver.WaitFor((*f)->stats().forwarded.load()));
  const auto got = receiver.messages();
  ASSERT_GE(got.size(), 3u);
  EXPECT_EQ(got.back(), "m19");
  for (size_t i = 1; i < got.size(); ++i) {
    EXPECT_LT(std::stoi(got[i - 1].substr(1)), std::stoi(got[i].substr(1)));  // in order
  }
  EXPECT_EQ((*f)->stats().forwarded.load() + (*f)->stats().dropped_buffer_full.load(), 20u);
}

TEST_F(ForwarderTest, ReceiverWithUntrustedCertificateGetsNothing) {
  TlsReceiver receiver(*pki_, 0);
  auto config = Config(receiver.port());
  config.ca_file = dir_ / "other.pem";
  auto f = SyslogForwarder::Start(config);
  ASSERT_TRUE(f.has_value());
  (*f)->Submit("secret alert");
  ASSERT_TRUE(Eventually([&] { return (*f)->stats().tls_failures.load() >= 1; }));
  EXPECT_EQ((*f)->stats().forwarded.load(), 0u);
  (*f)->Stop(std::chrono::milliseconds(0));
  EXPECT_TRUE(receiver.messages().empty());
  EXPECT_EQ((*f)->stats().dropped_shutdown.load(), 1u);
}

TEST_F(ForwarderTest, WrongServerNameIsRejected) {
  TlsReceiver receiver(*pki_, 0);
  auto config = Config(receiver.port());
  config.server_name = "siem.example.org";
  auto f = SyslogForwarder::Start(config);
  ASSERT_TRUE(f.has_value());
  (*f)->Submit("x");
  ASSERT_TRUE(Eventually([&] { return (*f)->stats().tls_failures.load() >= 1; }));
  EXPECT_EQ((*f)->stats().forwarded.load(), 0u);
}

TEST_F(ForwarderTest, BadConfigurationIsReportedAtStart) {
  auto config = Config(1);
  config.ca_file = dir_ / "missing.pem";
  auto f = SyslogForwarder::Start(config);
  ASSERT_FALSE(f.has_value());
  EXPECT_NE(f.error().message.find("CA file"), std::string::npos);
  config = Config(1);
  config.host.clear();
  EXPECT_FALSE(SyslogForwarder::Start(config).has_value());
}

TEST_F(ForwarderTest, StoreForwardsCommittedRaisedAlerts) {
  TlsReceiver receiver(*pki_, 0);
  config_.forwarding = Config(receiver.port());
  config_.forwarding.hostname = "collector-1";
  Open();
  auto shadow = MakeAlert("r.shadow", kT0);
  shadow.shadow = true;
  Commit(1, {MakeAlert("r1", kT0), shadow, MakeAlert("r2", kT0 + 1, engine::Level::kCritical)});
  ASSERT_TRUE(receiver.WaitFor(2));
  const auto got = receiver.messages();
  EXPECT_EQ(got[0].rfind("<35>1 2026-01-01T00:00:00.000000Z collector-1 vigil - alert [vigil@32473 "
                         "seq=\"3\"",
                         0),
            0u)
      << got[0];
  EXPECT_NE(got[0].find("rule_id=\"r1\""), std::string::npos);
  EXPECT_NE(got[1].find("rule_id=\"r2\""), std::string::npos);
  EXPECT_EQ(got[1].rfind("<34>", 0), 0u);
  ASSERT_TRUE(Eventually([&] { return store_->forwarder_stats()->forwarded.load() == 2; }));
  EXPECT_EQ(store_->forwarder_stats()->submitted.load(), 2u);  // shadow not raised
}

}  // namespace
}  // namespace vigil::collector::incidents::testing
