#pragma once
// RAII owners for the OpenSSL 3 objects vigil_transport uses, plus the small
// conversions every user of them needs (PEM in/out, ASN1 time). Internal to
// vigil_transport: other modules go through the typed APIs. Thread-safety:
// the free functions are reentrant; the handles are not shared.

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <expected>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "transport/transport_error.h"

namespace vigil::transport::ossl {

struct BioFree {
  void operator()(BIO* p) const { BIO_free_all(p); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct CrlFree {
  void operator()(X509_CRL* p) const { X509_CRL_free(p); }
};
struct StoreFree {
  void operator()(X509_STORE* p) const { X509_STORE_free(p); }
};
struct StoreCtxFree {
  void operator()(X509_STORE_CTX* p) const { X509_STORE_CTX_free(p); }
};
struct X509StackFree {
  void operator()(STACK_OF(X509) * p) const { sk_X509_pop_free(p, X509_free); }
};

using Bio = std::unique_ptr<BIO, BioFree>;
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using Cert = std::unique_ptr<X509, X509Free>;
using Crl = std::unique_ptr<X509_CRL, CrlFree>;
using Store = std::unique_ptr<X509_STORE, StoreFree>;
using StoreCtx = std::unique_ptr<X509_STORE_CTX, StoreCtxFree>;
using CertStack = std::unique_ptr<STACK_OF(X509), X509StackFree>;

/// Drains OpenSSL's thread-local error queue into one line ("" if empty).
std::string TakeErrors();

/// Every certificate in a PEM text, in order (empty when none parse).
std::vector<Cert> ParseCertificates(std::string_view pem);
Pkey ParsePrivateKey(std::string_view pem);
Crl ParseCrl(std::string_view pem);

std::string ToPem(X509* cert);
std::string ToPem(X509_CRL* crl);
std::string PrivateKeyToPem(EVP_PKEY* key);

std::chrono::system_clock::time_point ToTimePoint(const ASN1_TIME* t);
/// The subject's first commonName ("" if none).
std::string CommonName(X509* cert);
std::string SerialHex(X509* cert);
std::string Sha256Fingerprint(X509* cert);

}  // namespace vigil::transport::ossl
