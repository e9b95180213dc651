#include "transport/tls_files.h"

#include <openssl/err.h>
#include <openssl/x509_vfy.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "transport/openssl_handles.h"

namespace vigil::transport {

namespace {
constexpr size_t kMaxPemBytes = 1 << 20;
// Warn this long before our own certificate expires: enough time to re-issue.
constexpr auto kExpiryWarning = std::chrono::days(30);

TransportError Err(TransportError::Code code, const std::string& file, std::string msg) {
  return TransportError{code, file, std::move(msg)};
}
}  // namespace

std::expected<std::string, TransportError> ReadSmallFile(const std::string& path) {
  if (path.empty()) {
    return std::unexpected(Err(TransportError::Code::kFileUnreadable, path, "no file configured"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return std::unexpected(Err(TransportError::Code::kFileUnreadable, path,
                               std::string("cannot open: ") + std::strerror(errno)));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string data = ss.str();
  if (data.size() > kMaxPemBytes) {
    return std::unexpected(Err(TransportError::Code::kInvalidPem, path, "file larger than 1 MiB"));
  }
  return data;
}

std::expected<TlsMaterial, std::vector<TransportError>> LoadTlsMaterial(const TlsFiles& files) {
  std::vector<TransportError> errors;
  TlsMaterial m;
  m.files = files;
  auto read = [&](const std::string& path, std::string& out) {
    auto data = ReadSmallFile(path);
    if (!data) {
      errors.push_back(data.error());
      return false;
    }
    out = std::move(*data);
    return true;
  };

  std::vector<ossl::Cert> cas;
  if (read(files.ca, m.ca_pem)) {
    cas = ossl::ParseCertificates(m.ca_pem);
    if (cas.empty()) {
      errors.push_back(
          Err(TransportError::Code::kInvalidPem, files.ca, "no PEM certificate found"));
    }
    for (auto& ca : cas) {
      auto ca_end = ossl::ToTimePoint(X509_get0_notAfter(ca.get()));
      if (m.ca_not_after == std::chrono::system_clock::time_point{} || ca_end < m.ca_not_after) {
        m.ca_not_after = ca_end;
      }
      if (X509_check_ca(ca.get()) == 0) {
        errors.push_back(Err(TransportError::Code::kNotACa, files.ca,
                             "certificate '" + ossl::CommonName(ca.get()) +
                                 "' is not a CA (basicConstraints CA:TRUE missing)"));
      }
    }
  }
  std::vector<ossl::Cert> chain;
  if (read(files.cert, m.cert_pem)) {
    chain = ossl::ParseCertificates(m.cert_pem);
    if (chain.empty()) {
      errors.push_back(
          Err(TransportError::Code::kInvalidPem, files.cert, "no PEM certificate found"));
    } else {
      X509* leaf = chain.front().get();
      m.common_name = ossl::CommonName(leaf);
      m.not_before = ossl::ToTimePoint(X509_get0_notBefore(leaf));
      m.not_after = ossl::ToTimePoint(X509_get0_notAfter(leaf));
      auto now = std::chrono::system_clock::now();
      if (m.not_after < now) {
        m.warnings.push_back(files.cert + ": certificate '" + m.common_name + "' has expired");
      } else if (m.not_after - now < kExpiryWarning) {
        m.warnings.push_back(files.cert + ": certificate '" + m.common_name +
                             "' expires in less than 30 days");
      }
      if (m.not_before > now) {
        m.warnings.push_back(files.cert + ": certificate '" + m.common_name +
                             "' is not valid yet (check this host's clock)");
      }
    }
  }
  ossl::Pkey key;
  if (read(files.key, m.key_pem)) {
    key = ossl::ParsePrivateKey(m.key_pem);
    if (!key) {
      errors.push_back(Err(TransportError::Code::kInvalidPem, files.key,
                           "no unencrypted PEM private key found"));
    }
    struct stat st {};
    if (::stat(files.key.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
      m.warnings.push_back(files.key + ": private key is readable by group or others (chmod 600)");
    }
  }
  if (key && !chain.empty() && X509_check_private_key(chain.front().get(), key.get()) != 1) {
    ERR_clear_error();
    errors.push_back(Err(TransportError::Code::kKeyMismatch, files.key,
                         "private key does not match certificate " + files.cert));
  }
  if (!cas.empty() && !chain.empty()) {
    // Both ends are normally issued by the same Vigil CA.
    ossl::Store store(X509_STORE_new());
    for (auto& ca : cas) X509_STORE_add_cert(store.get(), ca.get());
    ossl::CertStack untrusted(sk_X509_new_null());
    for (size_t i = 1; i < chain.size(); ++i) {
      X509_up_ref(chain[i].get());
      sk_X509_push(untrusted.get(), chain[i].get());
    }
    ossl::StoreCtx ctx(X509_STORE_CTX_new());
    X509_STORE_CTX_init(ctx.get(), store.get(), chain.front().get(), untrusted.get());
    // Validity is reported as a warning above; here only the issuer matters.
    X509_STORE_CTX_set_flags(ctx.get(), X509_V_FLAG_NO_CHECK_TIME);
    if (X509_verify_cert(ctx.get()) != 1) {
      // Legitimate with separate CAs for the two ends, but far more often
      // files from two different `pki init`s: say so, loudly.
      int err = X509_STORE_CTX_get_error(ctx.get());
      m.warnings.push_back(files.cert + ": certificate does not chain to CA " + files.ca + " (" +
                           X509_verify_cert_error_string(err) +
                           "); the other end must trust its issuer");
    }
    ERR_clear_error();
  }
  if (!files.crl.empty() && read(files.crl, m.crl_pem)) {
    if (!ossl::ParseCrl(m.crl_pem)) {
      errors.push_back(Err(TransportError::Code::kInvalidPem, files.crl, "no PEM CRL found"));
    }
  }
  if (!errors.empty()) return std::unexpected(std::move(errors));
  return m;
}

std::string JoinErrors(const std::vector<TransportError>& errors) {
  std::string out;
  for (const auto& e : errors) {
    if (!out.empty()) out += '\n';
    out += e.ToString();
  }
  return out;
}

}  // namespace vigil::transport
