#include "transport/peer_verifier.h"

#include <openssl/err.h>
#include <openssl/x509_vfy.h>
#include <sys/stat.h>

#include <vector>

#include "transport/openssl_handles.h"
#include "transport/tls_files.h"

namespace vigil::transport {

namespace {
constexpr auto kReloadCheckInterval = std::chrono::seconds(1);

int64_t MtimeNs(const std::string& path) {
  struct stat st {};
  if (path.empty() || ::stat(path.c_str(), &st) != 0) return -1;
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec +
         static_cast<int64_t>(st.st_size);  // size too: two writes within one mtime tick
}

PeerRejection Classify(int err) {
  switch (err) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return PeerRejection::kExpired;
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return PeerRejection::kNotYetValid;
    case X509_V_ERR_CERT_REVOKED:
      return PeerRejection::kRevoked;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_UNTRUSTED:
      return PeerRejection::kUnknownCa;
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
    case X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY:
      return PeerRejection::kBadSignature;
    case X509_V_ERR_INVALID_PURPOSE:
    case X509_V_ERR_INVALID_CA:
      return PeerRejection::kWrongPurpose;
    case X509_V_ERR_UNABLE_TO_GET_CRL:
    case X509_V_ERR_CRL_HAS_EXPIRED:
    case X509_V_ERR_CRL_NOT_YET_VALID:
    case X509_V_ERR_CRL_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
    case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
      return PeerRejection::kCrlUnusable;
    default:
      return PeerRejection::kBadCertificate;
  }
}
}  // namespace

struct PeerVerifier::State {
  ossl::Store store;
  bool has_crl = false;
  std::chrono::system_clock::time_point crl_next_update{};
  int64_t ca_mtime = -1, crl_mtime = -1;
};

const char* PeerRejectionName(PeerRejection reason) {
  switch (reason) {
    case PeerRejection::kNoClientCertificate:
      return "no_client_certificate";
    case PeerRejection::kUnknownCa:
      return "unknown_ca";
    case PeerRejection::kBadSignature:
      return "bad_signature";
    case PeerRejection::kExpired:
      return "expired";
    case PeerRejection::kNotYetValid:
      return "not_yet_valid";
    case PeerRejection::kRevoked:
      return "revoked";
    case PeerRejection::kWrongPurpose:
      return "wrong_purpose";
    case PeerRejection::kCrlUnusable:
      return "crl_unusable";
    case PeerRejection::kBadCertificate:
      return "bad_certificate";
  }
  return "bad_certificate";
}

PeerVerifier::PeerVerifier(std::string ca_file, std::string crl_file)
    : ca_file_(std::move(ca_file)), crl_file_(std::move(crl_file)) {}
PeerVerifier::~PeerVerifier() = default;

std::expected<std::unique_ptr<PeerVerifier>, TransportError> PeerVerifier::Create(
    std::string ca_file, std::string crl_file) {
  std::unique_ptr<PeerVerifier> v(new PeerVerifier(std::move(ca_file), std::move(crl_file)));
  auto state = v->Load();
  if (!state) return std::unexpected(state.error());
  v->state_ = std::move(*state);
  v->last_check_ = std::chrono::steady_clock::now();
  return v;
}

std::expected<std::shared_ptr<const PeerVerifier::State>, TransportError> PeerVerifier::Load()
    const {
  auto state = std::make_shared<State>();
  state->ca_mtime = MtimeNs(ca_file_);
  state->crl_mtime = MtimeNs(crl_file_);
  auto ca_pem = ReadSmallFile(ca_file_);
  if (!ca_pem) return std::unexpected(ca_pem.error());
  auto cas = ossl::ParseCertificates(*ca_pem);
  if (cas.empty()) {
    return std::unexpected(
        TransportError{TransportError::Code::kInvalidPem, ca_file_, "no PEM certificate found"});
  }
  state->store.reset(X509_STORE_new());
  for (auto& ca : cas) X509_STORE_add_cert(state->store.get(), ca.get());
  if (!crl_file_.empty()) {
    auto crl_pem = ReadSmallFile(crl_file_);
    if (!crl_pem) return std::unexpected(crl_pem.error());
    ossl::Crl crl = ossl::ParseCrl(*crl_pem);
    if (!crl) {
      return std::unexpected(
          TransportError{TransportError::Code::kInvalidPem, crl_file_, "no PEM CRL found"});
    }
    state->crl_next_update = ossl::ToTimePoint(X509_CRL_get0_nextUpdate(crl.get()));
    X509_STORE_add_crl(state->store.get(), crl.get());
    state->has_crl = true;
  }
  ERR_clear_error();
  return std::shared_ptr<const State>(std::move(state));
}

std::expected<bool, TransportError> PeerVerifier::ReloadIfChanged() {
  std::shared_ptr<const State> current;
  {
    std::lock_guard lock(mu_);
    current = state_;
  }
  if (MtimeNs(ca_file_) == current->ca_mtime && MtimeNs(crl_file_) == current->crl_mtime) {
    return false;
  }
  auto fresh = Load();
  if (!fresh) return std::unexpected(fresh.error());
  std::lock_guard lock(mu_);
  state_ = std::move(*fresh);
  return true;
}

std::shared_ptr<const PeerVerifier::State> PeerVerifier::Current() {
  bool check = false;
  {
    std::lock_guard lock(mu_);
    auto now = std::chrono::steady_clock::now();
    if (now - last_check_ >= kReloadCheckInterval) {
      last_check_ = now;
      check = true;
    }
  }
  // A failed reload keeps the previous CA/CRL: a half-written file must not
  // open the door nor lock every agent out. The ingest layer logs the error
  // through its own reload path; here it is simply not applied.
  if (check) (void)ReloadIfChanged();
  std::lock_guard lock(mu_);
  return state_;
}

std::chrono::system_clock::time_point PeerVerifier::crl_next_update() const {
  std::lock_guard lock(mu_);
  return state_->crl_next_update;
}

std::expected<VerifiedPeer, PeerRejectionDetail> PeerVerifier::Verify(std::string_view chain_pem) {
  if (chain_pem.empty()) {
    return std::unexpected(PeerRejectionDetail{PeerRejection::kNoClientCertificate, "",
                                               "the client presented no certificate"});
  }
  auto chain = ossl::ParseCertificates(chain_pem);
  if (chain.empty()) {
    return std::unexpected(PeerRejectionDetail{PeerRejection::kBadCertificate, "",
                                               "the presented certificate does not parse"});
  }
  X509* leaf = chain.front().get();
  std::string cn = ossl::CommonName(leaf);
  if (X509_check_ca(leaf) != 0) {
    return std::unexpected(PeerRejectionDetail{
        PeerRejection::kWrongPurpose, cn, "a CA certificate was presented as client certificate"});
  }
  auto state = Current();
  ossl::CertStack untrusted(sk_X509_new_null());
  for (size_t i = 1; i < chain.size(); ++i) {
    X509_up_ref(chain[i].get());
    sk_X509_push(untrusted.get(), chain[i].get());
  }
  ossl::StoreCtx ctx(X509_STORE_CTX_new());
  if (X509_STORE_CTX_init(ctx.get(), state->store.get(), leaf, untrusted.get()) != 1) {
    ERR_clear_error();
    return std::unexpected(
        PeerRejectionDetail{PeerRejection::kBadCertificate, cn, "cannot initialise verification"});
  }
  X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_CLIENT);
  if (state->has_crl) X509_STORE_CTX_set_flags(ctx.get(), X509_V_FLAG_CRL_CHECK);
  int ok = X509_verify_cert(ctx.get());
  int err = X509_STORE_CTX_get_error(ctx.get());
  ERR_clear_error();
  if (ok != 1) {
    return std::unexpected(
        PeerRejectionDetail{Classify(err), cn, X509_verify_cert_error_string(err)});
  }
  VerifiedPeer peer;
  peer.common_name = std::move(cn);
  peer.serial_hex = ossl::SerialHex(leaf);
  peer.fingerprint_sha256 = ossl::Sha256Fingerprint(leaf);
  peer.not_before = ossl::ToTimePoint(X509_get0_notBefore(leaf));
  peer.not_after = ossl::ToTimePoint(X509_get0_notAfter(leaf));
  if (peer.common_name.empty()) {
    return std::unexpected(PeerRejectionDetail{PeerRejection::kBadCertificate, "",
                                               "the certificate has no subject commonName"});
  }
  return peer;
}

}  // namespace vigil::transport
