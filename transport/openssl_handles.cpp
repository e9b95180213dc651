#include "transport/openssl_handles.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <cstdio>

namespace vigil::transport::ossl {

std::string TakeErrors() {
  std::string out;
  char buf[256];
  while (unsigned long e = ERR_get_error()) {
    ERR_error_string_n(e, buf, sizeof(buf));
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

namespace {
Bio MemBio(std::string_view data) {
  return Bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}
std::string DrainBio(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(len));
}
}  // namespace

std::vector<Cert> ParseCertificates(std::string_view pem) {
  std::vector<Cert> out;
  Bio bio = MemBio(pem);
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    out.emplace_back(x);
  }
  // The loop ends with a "no start line" error at end of input: not an error.
  ERR_clear_error();
  return out;
}

Pkey ParsePrivateKey(std::string_view pem) {
  Bio bio = MemBio(pem);
  Pkey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) ERR_clear_error();
  return key;
}

Crl ParseCrl(std::string_view pem) {
  Bio bio = MemBio(pem);
  Crl crl(PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));
  if (!crl) ERR_clear_error();
  return crl;
}

std::string ToPem(X509* cert) {
  Bio bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  return DrainBio(bio.get());
}

std::string ToPem(X509_CRL* crl) {
  Bio bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509_CRL(bio.get(), crl);
  return DrainBio(bio.get());
}

std::string PrivateKeyToPem(EVP_PKEY* key) {
  Bio bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  return DrainBio(bio.get());
}

std::chrono::system_clock::time_point ToTimePoint(const ASN1_TIME* t) {
  struct tm tm {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return {};
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

std::string CommonName(X509* cert) {
  X509_NAME* name = X509_get_subject_name(cert);
  int idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (idx < 0) return {};
  ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
  unsigned char* utf8 = nullptr;
  int len = ASN1_STRING_to_UTF8(&utf8, data);
  if (len < 0) return {};
  std::string out(reinterpret_cast<char*>(utf8), static_cast<size_t>(len));
  OPENSSL_free(utf8);
  return out;
}

std::string SerialHex(X509* cert) {
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr);
  if (bn == nullptr) return {};
  char* hex = BN_bn2hex(bn);
  std::string out(hex);
  OPENSSL_free(hex);
  BN_free(bn);
  return out;
}

std::string Sha256Fingerprint(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_digest(cert, EVP_sha256(), md, &len) != 1) return {};
  std::string out;
  char buf[4];
  for (unsigned int i = 0; i < len; ++i) {
    std::snprintf(buf, sizeof(buf), i == 0 ? "%02X" : ":%02X", md[i]);
    out += buf;
  }
  return out;
}

}  // namespace vigil::transport::ossl
