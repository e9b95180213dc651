#include "transport/certificate_authority.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "transport/openssl_handles.h"
#include "transport/tls_files.h"

namespace vigil::transport {

namespace fs = std::filesystem;
using Clock = std::chrono::system_clock;

namespace {

// Backdating notBefore tolerates a verifier whose clock is slightly behind
// (failure mode: "not yet valid" right after enrolment).
constexpr auto kBackdate = std::chrono::minutes(5);
constexpr size_t kMaxNameLength = 64;
constexpr const char* kIndexHeader =
    "# vigil pki inventory: serial kind name not_before not_after status revoked_at reason\n";

TransportError Err(TransportError::Code code, const fs::path& file, std::string msg) {
  return TransportError{code, file.string(), std::move(msg)};
}
TransportError Crypto(std::string what) {
  std::string detail = ossl::TakeErrors();
  return TransportError{TransportError::Code::kCrypto, "",
                        what + (detail.empty() ? "" : ": " + detail)};
}

bool ValidName(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength) return false;
  if (name.front() == '.' || name.front() == '-') return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

ossl::Pkey GenerateKey(KeyType type) {
  if (type == KeyType::kEd25519) return ossl::Pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  return ossl::Pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
}

// Ed25519 signs the message itself: no separate digest.
const EVP_MD* DigestFor(EVP_PKEY* key) {
  return EVP_PKEY_get_id(key) == EVP_PKEY_ED25519 ? nullptr : EVP_sha256();
}

bool RandomSerial(X509* cert) {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) return false;
  bytes[0] &= 0x7f;  // positive
  bytes[0] |= 0x01;  // never zero, never shorter than 16 bytes
  BIGNUM* bn = BN_bin2bn(bytes, sizeof(bytes), nullptr);
  ASN1_INTEGER* serial = BN_to_ASN1_INTEGER(bn, nullptr);
  BN_free(bn);
  bool ok = serial != nullptr && X509_set_serialNumber(cert, serial) == 1;
  ASN1_INTEGER_free(serial);
  return ok;
}

bool SetTime(ASN1_TIME* field, Clock::time_point t) {
  return ASN1_TIME_set(field, Clock::to_time_t(t)) != nullptr;
}

bool AddExt(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) return false;
  bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

std::expected<std::string, TransportError> SanValue(const std::vector<std::string>& sans) {
  std::string out;
  for (const auto& san : sans) {
    std::string entry;
    if (san.rfind("DNS:", 0) == 0) {
      std::string host = san.substr(4);
      bool ok = !host.empty() && host.size() <= 253;
      for (char c : host) {
        ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-' || c == '*');
      }
      if (!ok) {
        return std::unexpected(Err(TransportError::Code::kInvalidArgument, "",
                                   "invalid DNS name in SAN '" + san + "'"));
      }
      entry = "DNS:" + host;
    } else if (san.rfind("IP:", 0) == 0) {
      std::string ip = san.substr(3);
      unsigned char buf[16];
      if (inet_pton(AF_INET, ip.c_str(), buf) != 1 && inet_pton(AF_INET6, ip.c_str(), buf) != 1) {
        return std::unexpected(Err(TransportError::Code::kInvalidArgument, "",
                                   "invalid IP address in SAN '" + san + "'"));
      }
      entry = "IP:" + ip;
    } else {
      return std::unexpected(Err(TransportError::Code::kInvalidArgument, "",
                                 "SAN '" + san + "' must start with DNS: or IP:"));
    }
    if (!out.empty()) out += ',';
    out += entry;
  }
  return out;
}

int64_t ToUnix(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}
Clock::time_point FromUnix(int64_t s) { return Clock::time_point(std::chrono::seconds(s)); }

}  // namespace

struct CertificateAuthority::Keys {
  ossl::Cert cert;
  ossl::Pkey key;
};

const char* KindName(CertificateKind kind) {
  return kind == CertificateKind::kCollector ? "collector" : "agent";
}

const char* ReasonName(RevocationReason reason) {
  switch (reason) {
    case RevocationReason::kUnspecified:
      return "unspecified";
    case RevocationReason::kKeyCompromise:
      return "key_compromise";
    case RevocationReason::kSuperseded:
      return "superseded";
    case RevocationReason::kCessationOfOperation:
      return "cessation_of_operation";
  }
  return "unspecified";
}

std::optional<RevocationReason> ParseReason(std::string_view name) {
  for (auto r : {RevocationReason::kUnspecified, RevocationReason::kKeyCompromise,
                 RevocationReason::kSuperseded, RevocationReason::kCessationOfOperation}) {
    if (name == ReasonName(r)) return r;
  }
  return std::nullopt;
}

std::optional<KeyType> ParseKeyType(std::string_view name) {
  if (name == "ec" || name == "ec-p256" || name == "p256") return KeyType::kEcP256;
  if (name == "ed25519") return KeyType::kEd25519;
  return std::nullopt;
}

std::expected<void, TransportError> WriteFileAtomic(const fs::path& path, std::string_view data,
                                                    unsigned mode) {
  fs::path tmp = path;
  tmp += ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) {
    return std::unexpected(Err(TransportError::Code::kFileUnwritable, tmp,
                               std::string("cannot create: ") + std::strerror(errno)));
  }
  // open() honours the umask; a private key must end up exactly 0600.
  ::fchmod(fd, mode);
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return std::unexpected(Err(TransportError::Code::kFileUnwritable, tmp,
                                 std::string("write failed: ") + std::strerror(e)));
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(tmp.c_str());
    return std::unexpected(Err(TransportError::Code::kFileUnwritable, tmp,
                               std::string("fsync failed: ") + std::strerror(errno)));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return std::unexpected(Err(TransportError::Code::kFileUnwritable, path,
                               std::string("rename failed: ") + std::strerror(e)));
  }
  return {};
}

CertificateAuthority::CertificateAuthority(CertificateAuthority&& o) noexcept
    : dir_(std::move(o.dir_)),
      lock_fd_(std::exchange(o.lock_fd_, -1)),
      keys_(std::move(o.keys_)),
      records_(std::move(o.records_)),
      crl_validity_(o.crl_validity_) {}

CertificateAuthority& CertificateAuthority::operator=(CertificateAuthority&& o) noexcept {
  if (this != &o) {
    if (lock_fd_ >= 0) ::close(lock_fd_);
    dir_ = std::move(o.dir_);
    lock_fd_ = std::exchange(o.lock_fd_, -1);
    keys_ = std::move(o.keys_);
    records_ = std::move(o.records_);
    crl_validity_ = o.crl_validity_;
  }
  return *this;
}

CertificateAuthority::~CertificateAuthority() {
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

namespace {
std::expected<int, TransportError> LockDir(const fs::path& dir) {
  fs::path lock = dir / ".lock";
  int fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return std::unexpected(Err(TransportError::Code::kFileUnwritable, lock,
                               std::string("cannot open lock file: ") + std::strerror(errno)));
  }
  // Another vigilctl may be finishing: wait a little, never forever.
  for (int attempt = 0; ::flock(fd, LOCK_EX | LOCK_NB) != 0; ++attempt) {
    if (errno != EWOULDBLOCK || attempt >= 50) {
      ::close(fd);
      return std::unexpected(Err(TransportError::Code::kFileUnwritable, lock,
                                 "CA directory is in use by another vigilctl"));
    }
    ::usleep(100000);
  }
  return fd;
}
}  // namespace

std::expected<CertificateAuthority, TransportError> CertificateAuthority::Init(
    const fs::path& dir, const CaInitOptions& options) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return std::unexpected(Err(TransportError::Code::kFileUnwritable, dir,
                               "cannot create directory: " + ec.message()));
  }
  if (fs::exists(dir / "ca.key") || fs::exists(dir / "ca.crt")) {
    return std::unexpected(Err(TransportError::Code::kAlreadyExists, dir / "ca.crt",
                               "a CA already exists here; refusing to overwrite it"));
  }
  if (options.common_name.empty() || options.common_name.size() > kMaxNameLength) {
    return std::unexpected(
        Err(TransportError::Code::kInvalidArgument, "", "CA name must be 1..64 characters"));
  }
  auto lock = LockDir(dir);
  if (!lock) return std::unexpected(lock.error());
  CertificateAuthority ca;
  ca.dir_ = dir;
  ca.lock_fd_ = *lock;
  ca.crl_validity_ = options.crl_validity;
  ca.keys_ = std::make_unique<Keys>();
  ca.keys_->key = GenerateKey(options.key_type);
  if (!ca.keys_->key) return std::unexpected(Crypto("CA key generation failed"));
  ca.keys_->cert.reset(X509_new());
  X509* x = ca.keys_->cert.get();
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(options.common_name.c_str()),
                             -1, -1, 0);
  if (!options.organization.empty()) {
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(options.organization.c_str()),
                               -1, -1, 0);
  }
  auto now = Clock::now();
  bool ok = X509_set_version(x, X509_VERSION_3) == 1 && RandomSerial(x) &&
            X509_set_issuer_name(x, name) == 1 &&
            SetTime(X509_getm_notBefore(x), now - kBackdate) &&
            SetTime(X509_getm_notAfter(x), now + options.validity) &&
            X509_set_pubkey(x, ca.keys_->key.get()) == 1 &&
            AddExt(x, x, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") &&
            AddExt(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") &&
            AddExt(x, x, NID_subject_key_identifier, "hash") &&
            X509_sign(x, ca.keys_->key.get(), DigestFor(ca.keys_->key.get())) > 0;
  if (!ok) return std::unexpected(Crypto("building the CA certificate failed"));
  if (auto w = WriteFileAtomic(dir / "ca.key", ossl::PrivateKeyToPem(ca.keys_->key.get()), 0600);
      !w) {
    return std::unexpected(w.error());
  }
  if (auto w = WriteFileAtomic(dir / "ca.crt", ossl::ToPem(x), 0644); !w) {
    return std::unexpected(w.error());
  }
  if (auto w = ca.SaveIndex(); !w) return std::unexpected(w.error());
  if (auto w = ca.WriteCrl(options.crl_validity); !w) return std::unexpected(w.error());
  return ca;
}

std::expected<CertificateAuthority, TransportError> CertificateAuthority::Open(
    const fs::path& dir) {
  if (!fs::exists(dir / "ca.crt") || !fs::exists(dir / "ca.key")) {
    return std::unexpected(Err(TransportError::Code::kNotFound, dir,
                               "no CA here (run `vigilctl pki init --dir " + dir.string() + "`)"));
  }
  auto lock = LockDir(dir);
  if (!lock) return std::unexpected(lock.error());
  CertificateAuthority ca;
  ca.dir_ = dir;
  ca.lock_fd_ = *lock;
  ca.keys_ = std::make_unique<Keys>();
  auto cert_pem = ReadSmallFile((dir / "ca.crt").string());
  if (!cert_pem) return std::unexpected(cert_pem.error());
  auto certs = ossl::ParseCertificates(*cert_pem);
  if (certs.empty()) {
    return std::unexpected(
        Err(TransportError::Code::kInvalidPem, dir / "ca.crt", "no PEM certificate found"));
  }
  ca.keys_->cert = std::move(certs.front());
  auto key_pem = ReadSmallFile((dir / "ca.key").string());
  if (!key_pem) return std::unexpected(key_pem.error());
  ca.keys_->key = ossl::ParsePrivateKey(*key_pem);
  if (!ca.keys_->key) {
    return std::unexpected(Err(TransportError::Code::kInvalidPem, dir / "ca.key",
                               "no unencrypted PEM private key found"));
  }
  if (X509_check_private_key(ca.keys_->cert.get(), ca.keys_->key.get()) != 1) {
    ERR_clear_error();
    return std::unexpected(
        Err(TransportError::Code::kKeyMismatch, dir / "ca.key", "CA key does not match ca.crt"));
  }
  if (auto r = ca.LoadIndex(); !r) return std::unexpected(r.error());
  return ca;
}

std::expected<CertificateRecord, TransportError> CertificateAuthority::Issue(
    const IssueRequest& req) {
  if (!ValidName(req.name)) {
    return std::unexpected(Err(TransportError::Code::kInvalidArgument, "",
                               "name '" + req.name +
                                   "' must be 1..64 characters of A-Z a-z 0-9 . _ - "
                                   "(it becomes the certificate CN and a file name)"));
  }
  if (req.kind == CertificateKind::kCollector && req.sans.empty()) {
    return std::unexpected(Err(TransportError::Code::kInvalidArgument, "",
                               "a collector certificate needs --san (the names agents dial), "
                               "e.g. DNS:collector.example.gov,IP:10.0.0.5"));
  }
  auto san = SanValue(req.sans);
  if (!san) return std::unexpected(san.error());
  auto now = Clock::now();
  Clock::time_point not_before = req.not_before.value_or(now - kBackdate);
  Clock::time_point not_after = req.not_after.value_or(not_before + kBackdate + req.validity);
  if (not_after <= not_before) {
    return std::unexpected(
        Err(TransportError::Code::kInvalidArgument, "", "validity ends before it starts"));
  }
  ossl::Pkey key = GenerateKey(req.key_type);
  if (!key) return std::unexpected(Crypto("key generation failed"));
  ossl::Cert cert(X509_new());
  X509* x = cert.get();
  X509* issuer = keys_->cert.get();
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(req.name.c_str()), -1, -1, 0);
  const char* eku = req.kind == CertificateKind::kCollector ? "serverAuth" : "clientAuth";
  bool ok = X509_set_version(x, X509_VERSION_3) == 1 && RandomSerial(x) &&
            X509_set_issuer_name(x, X509_get_subject_name(issuer)) == 1 &&
            SetTime(X509_getm_notBefore(x), not_before) &&
            SetTime(X509_getm_notAfter(x), not_after) && X509_set_pubkey(x, key.get()) == 1 &&
            AddExt(x, issuer, NID_basic_constraints, "critical,CA:FALSE") &&
            AddExt(x, issuer, NID_key_usage, "critical,digitalSignature") &&
            AddExt(x, issuer, NID_ext_key_usage, eku) &&
            AddExt(x, issuer, NID_subject_key_identifier, "hash") &&
            AddExt(x, issuer, NID_authority_key_identifier, "keyid:always") &&
            (san->empty() || AddExt(x, issuer, NID_subject_alt_name, *san)) &&
            X509_sign(x, keys_->key.get(), DigestFor(keys_->key.get())) > 0;
  if (!ok) return std::unexpected(Crypto("building the certificate failed"));

  fs::path out = req.out_dir.empty() ? dir_ / "issued" : req.out_dir;
  std::error_code ec;
  fs::create_directories(out, ec);
  if (ec) {
    return std::unexpected(Err(TransportError::Code::kFileUnwritable, out,
                               "cannot create directory: " + ec.message()));
  }
  CertificateRecord rec;
  rec.serial_hex = ossl::SerialHex(x);
  rec.kind = req.kind;
  rec.name = req.name;
  rec.not_before = ossl::ToTimePoint(X509_get0_notBefore(x));
  rec.not_after = ossl::ToTimePoint(X509_get0_notAfter(x));
  rec.key_path = out / (req.name + ".key");
  rec.cert_path = out / (req.name + ".crt");
  if (auto w = WriteFileAtomic(rec.key_path, ossl::PrivateKeyToPem(key.get()), 0600); !w) {
    return std::unexpected(w.error());
  }
  if (auto w = WriteFileAtomic(rec.cert_path, ossl::ToPem(x), 0644); !w) {
    return std::unexpected(w.error());
  }
  records_.push_back(rec);
  if (auto w = SaveIndex(); !w) return std::unexpected(w.error());
  return rec;
}

std::expected<std::vector<CertificateRecord>, TransportError> CertificateAuthority::Revoke(
    const std::string& name, const std::optional<std::string>& serial_hex,
    RevocationReason reason) {
  std::vector<CertificateRecord> revoked;
  auto now = Clock::now();
  for (auto& rec : records_) {
    if (rec.revoked || rec.name != name) continue;
    if (serial_hex && rec.serial_hex != *serial_hex) continue;
    rec.revoked = true;
    rec.revoked_at = now;
    rec.reason = reason;
    revoked.push_back(rec);
  }
  if (revoked.empty()) {
    return std::unexpected(Err(TransportError::Code::kNotFound, dir_ / "index.tsv",
                               "no unrevoked certificate named '" + name + "'" +
                                   (serial_hex ? " with serial " + *serial_hex : "")));
  }
  if (auto w = SaveIndex(); !w) return std::unexpected(w.error());
  if (auto w = WriteCrl(crl_validity_); !w) return std::unexpected(w.error());
  return revoked;
}

std::expected<void, TransportError> CertificateAuthority::WriteCrl(std::chrono::days validity) {
  // The CRL number only grows: relying parties use it to spot a stale CRL.
  fs::path number_path = dir_ / "crlnumber";
  long number = 1;
  if (auto text = ReadSmallFile(number_path.string()); text) number = std::atol(text->c_str()) + 1;
  X509* issuer = keys_->cert.get();
  ossl::Crl crl(X509_CRL_new());
  X509_CRL* c = crl.get();
  auto now = Clock::now();
  ASN1_TIME* last = ASN1_TIME_set(nullptr, Clock::to_time_t(now));
  ASN1_TIME* next = ASN1_TIME_set(nullptr, Clock::to_time_t(now + validity));
  bool ok = X509_CRL_set_version(c, X509_CRL_VERSION_2) == 1 &&
            X509_CRL_set_issuer_name(c, X509_get_subject_name(issuer)) == 1 &&
            X509_CRL_set1_lastUpdate(c, last) == 1 && X509_CRL_set1_nextUpdate(c, next) == 1;
  ASN1_TIME_free(last);
  ASN1_TIME_free(next);
  for (const auto& rec : records_) {
    if (!ok || !rec.revoked) continue;
    BIGNUM* bn = nullptr;
    BN_hex2bn(&bn, rec.serial_hex.c_str());
    ASN1_INTEGER* serial = BN_to_ASN1_INTEGER(bn, nullptr);
    BN_free(bn);
    X509_REVOKED* r = X509_REVOKED_new();
    ASN1_TIME* when = ASN1_TIME_set(nullptr, Clock::to_time_t(rec.revoked_at));
    ASN1_ENUMERATED* code = ASN1_ENUMERATED_new();
    ASN1_ENUMERATED_set(code, static_cast<long>(rec.reason));
    ok = serial != nullptr && X509_REVOKED_set_serialNumber(r, serial) == 1 &&
         X509_REVOKED_set_revocationDate(r, when) == 1 &&
         X509_REVOKED_add1_ext_i2d(r, NID_crl_reason, code, 0, 0) == 1 &&
         X509_CRL_add0_revoked(c, r) == 1;
    if (!ok) X509_REVOKED_free(r);
    ASN1_INTEGER_free(serial);
    ASN1_TIME_free(when);
    ASN1_ENUMERATED_free(code);
  }
  if (ok) {
    X509_CRL_sort(c);
    ASN1_INTEGER* num = ASN1_INTEGER_new();
    ASN1_INTEGER_set(num, number);
    ok = X509_CRL_add1_ext_i2d(c, NID_crl_number, num, 0, 0) == 1;
    ASN1_INTEGER_free(num);
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, nullptr, nullptr, c, 0);
    X509_EXTENSION* akid =
        X509V3_EXT_nconf_nid(nullptr, &ctx, NID_authority_key_identifier, "keyid:always");
    ok = ok && akid != nullptr && X509_CRL_add_ext(c, akid, -1) == 1;
    X509_EXTENSION_free(akid);
    ok = ok && X509_CRL_sign(c, keys_->key.get(), DigestFor(keys_->key.get())) > 0;
  }
  if (!ok) return std::unexpected(Crypto("building the CRL failed"));
  if (auto w = WriteFileAtomic(number_path, std::to_string(number) + "\n", 0644); !w) return w;
  crl_validity_ = validity;
  return WriteFileAtomic(crl_path(), ossl::ToPem(c), 0644);
}

std::expected<void, TransportError> CertificateAuthority::SaveIndex() const {
  std::ostringstream out;
  out << kIndexHeader;
  for (const auto& r : records_) {
    out << r.serial_hex << '\t' << KindName(r.kind) << '\t' << r.name << '\t'
        << ToUnix(r.not_before) << '\t' << ToUnix(r.not_after) << '\t'
        << (r.revoked ? "revoked" : "valid") << '\t' << (r.revoked ? ToUnix(r.revoked_at) : 0)
        << '\t' << ReasonName(r.reason) << '\n';
  }
  out << "# crl_validity_days " << crl_validity_.count() << '\n';
  return WriteFileAtomic(dir_ / "index.tsv", out.str(), 0644);
}

std::expected<void, TransportError> CertificateAuthority::LoadIndex() {
  fs::path path = dir_ / "index.tsv";
  auto text = ReadSmallFile(path.string());
  if (!text) return std::unexpected(text.error());
  std::istringstream in(*text);
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.rfind("# crl_validity_days ", 0) == 0) {
      crl_validity_ = std::chrono::days(std::atol(line.c_str() + 20));
      continue;
    }
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> f;
    std::istringstream ls(line);
    std::string field;
    while (std::getline(ls, field, '\t')) f.push_back(field);
    if (f.size() != 8) {
      return std::unexpected(Err(TransportError::Code::kInvalidPem,
                                 path.string() + ":" + std::to_string(lineno),
                                 "expected 8 tab-separated fields"));
    }
    CertificateRecord r;
    r.serial_hex = f[0];
    r.kind = f[1] == "collector" ? CertificateKind::kCollector : CertificateKind::kAgent;
    r.name = f[2];
    r.not_before = FromUnix(std::atoll(f[3].c_str()));
    r.not_after = FromUnix(std::atoll(f[4].c_str()));
    r.revoked = f[5] == "revoked";
    r.revoked_at = FromUnix(std::atoll(f[6].c_str()));
    r.reason = ParseReason(f[7]).value_or(RevocationReason::kUnspecified);
    records_.push_back(std::move(r));
  }
  return {};
}

}  // namespace vigil::transport
