#include "collector/metrics/certificate_expiry.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <ctime>
#include <fstream>
#include <memory>
#include <sstream>

namespace vigil::collector::metrics {
namespace {

std::string OpenSslError() {
  const unsigned long code = ERR_get_error();
  if (code == 0) return "no certificate found";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

}  // namespace

std::expected<int64_t, std::string> CertificateNotAfterFromPem(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
  if (!bio) return std::unexpected("out of memory");
  std::unique_ptr<X509, decltype(&X509_free)> cert(
      PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), &X509_free);
  if (!cert) return std::unexpected(OpenSslError());
  const ASN1_TIME* not_after = X509_get0_notAfter(cert.get());
  std::tm tm{};
  if (not_after == nullptr || ASN1_TIME_to_tm(not_after, &tm) != 1) {
    return std::unexpected("unreadable notAfter");
  }
  return static_cast<int64_t>(timegm(&tm));
}

std::expected<int64_t, std::string> CertificateNotAfter(const std::string& pem_path) {
  std::ifstream in(pem_path, std::ios::binary);
  if (!in) return std::unexpected(pem_path + ": cannot open");
  std::ostringstream text;
  text << in.rdbuf();
  auto result = CertificateNotAfterFromPem(text.str());
  if (!result) return std::unexpected(pem_path + ": " + result.error());
  return result;
}

}  // namespace vigil::collector::metrics
