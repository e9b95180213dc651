#include "tests/transport/test_pki.h"

#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace vigil::testing {

TempDir::TempDir(const std::string& prefix) {
  std::string tmpl = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

TestPki::TestPki(const std::string& ca_name, transport::KeyType key_type) : dir_("vigil-pki") {
  transport::CaInitOptions o;
  o.common_name = ca_name;
  o.key_type = key_type;
  auto ca = transport::CertificateAuthority::Init(dir_.path() / "ca", o);
  if (!ca) throw std::runtime_error("test CA: " + ca.error().ToString());
  ca_ = std::make_unique<transport::CertificateAuthority>(std::move(*ca));
}

std::string TestPki::ca_file() const { return ca_->ca_cert_path().string(); }
std::string TestPki::crl_file() const { return ca_->crl_path().string(); }

TestCert TestPki::Collector(const std::string& name) {
  transport::IssueRequest r;
  r.name = name;
  r.kind = transport::CertificateKind::kCollector;
  r.sans = {"DNS:localhost", "IP:127.0.0.1"};
  r.out_dir = dir_.path() / "issued" / std::to_string(++issued_);
  auto rec = ca_->Issue(r);
  if (!rec) throw std::runtime_error("test collector cert: " + rec.error().ToString());
  return TestCert{rec->cert_path.string(), rec->key_path.string(), rec->serial_hex};
}

TestCert TestPki::Agent(const std::string& name,
                        std::optional<std::chrono::system_clock::time_point> not_before,
                        std::optional<std::chrono::system_clock::time_point> not_after) {
  transport::IssueRequest r;
  r.name = name;
  r.kind = transport::CertificateKind::kAgent;
  r.not_before = not_before;
  r.not_after = not_after;
  // Each certificate in its own folder: a test may hold several of one name.
  r.out_dir = dir_.path() / "issued" / std::to_string(++issued_);
  auto rec = ca_->Issue(r);
  if (!rec) throw std::runtime_error("test agent cert: " + rec.error().ToString());
  return TestCert{rec->cert_path.string(), rec->key_path.string(), rec->serial_hex};
}

void TestPki::Revoke(const std::string& name) {
  auto r = ca_->Revoke(name, std::nullopt, transport::RevocationReason::kKeyCompromise);
  if (!r) throw std::runtime_error("test revoke: " + r.error().ToString());
}

}  // namespace vigil::testing
