#pragma once
// Test-only certificate factory: a throw-away CA in a temporary directory
// (removed with the object), built with the same CertificateAuthority code
// `vigilctl pki` uses, plus leaf certificates with any validity window,
// from a second CA, or revoked. Not thread-safe.

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "transport/certificate_authority.h"

namespace vigil::testing {

/// A temporary directory removed (recursively) on destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "vigil-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

struct TestCert {
  std::string cert, key;  ///< file paths
  std::string serial;
};

class TestPki {
 public:
  explicit TestPki(const std::string& ca_name = "Vigil Test CA",
                   transport::KeyType key_type = transport::KeyType::kEcP256);

  std::string ca_file() const;
  std::string crl_file() const;
  const std::filesystem::path& dir() const { return dir_.path(); }

  /// Collector certificate with SAN DNS:localhost, IP:127.0.0.1.
  TestCert Collector(const std::string& name = "collector-test");
  TestCert Agent(const std::string& name,
                 std::optional<std::chrono::system_clock::time_point> not_before = std::nullopt,
                 std::optional<std::chrono::system_clock::time_point> not_after = std::nullopt);
  /// Revokes every certificate of `name` and rewrites the CRL.
  void Revoke(const std::string& name);
  transport::CertificateAuthority& ca() { return *ca_; }

 private:
  TempDir dir_;
  std::unique_ptr<transport::CertificateAuthority> ca_;
  int issued_ = 0;
};

}  // namespace vigil::testing
