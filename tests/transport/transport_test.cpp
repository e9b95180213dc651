// vigil_transport: loading TLS files (every error at once, naming files),
// the peer verifier's named reasons, and the certificate authority.

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <fstream>
#include <thread>

#include "tests/transport/test_pki.h"
#include "transport/certificate_authority.h"
#include "transport/peer_verifier.h"
#include "transport/tls_files.h"

namespace vigil::transport {
namespace {

using testing::TempDir;
using testing::TestCert;
using testing::TestPki;
using namespace std::chrono_literals;
using Clock = std::chrono::system_clock;

std::string Read(const std::string& path) { return ReadSmallFile(path).value_or(""); }

void Write(const std::filesystem::path& path, const std::string& data) {
  std::ofstream(path, std::ios::binary) << data;
}

TEST(TlsFilesTest, LoadsAMatchingSetAndReportsIdentityAndExpiry) {
  TestPki pki;
  TestCert c = pki.Agent("agent-a");
  auto m = LoadTlsMaterial({pki.ca_file(), c.cert, c.key, pki.crl_file()});
  ASSERT_TRUE(m.has_value()) << JoinErrors(m.error());
  EXPECT_EQ(m->common_name, "agent-a");
  EXPECT_GT(m->not_after, Clock::now() + 800 * 24h);
  EXPECT_TRUE(m->warnings.empty());
  EXPECT_FALSE(m->crl_pem.empty());
}

TEST(TlsFilesTest, ReportsEveryProblemAtOnceEachWithItsFile) {
  TempDir dir;
  Write(dir.path() / "ca.crt", "not a certificate");
  auto m = LoadTlsMaterial({(dir.path() / "ca.crt").string(), (dir.path() / "missing.crt").string(),
                            (dir.path() / "missing.key").string(), ""});
  ASSERT_FALSE(m.has_value());
  ASSERT_EQ(m.error().size(), 3u);
  EXPECT_EQ(m.error()[0].code, TransportError::Code::kInvalidPem);
  EXPECT_NE(m.error()[0].file.find("ca.crt"), std::string::npos);
  EXPECT_EQ(m.error()[1].code, TransportError::Code::kFileUnreadable);
  EXPECT_NE(m.error()[1].ToString().find("missing.crt"), std::string::npos);
  EXPECT_NE(m.error()[2].ToString().find("missing.key"), std::string::npos);
}

TEST(TlsFilesTest, KeyOfAnotherCertificateIsAnError) {
  TestPki pki;
  TestCert a = pki.Agent("agent-a");
  TestCert b = pki.Agent("agent-b");
  auto m = LoadTlsMaterial({pki.ca_file(), a.cert, b.key, ""});
  ASSERT_FALSE(m.has_value());
  EXPECT_EQ(m.error()[0].code, TransportError::Code::kKeyMismatch);
  EXPECT_EQ(m.error()[0].file, b.key);
}

TEST(TlsFilesTest, ALeafAsCaFileIsRejected) {
  TestPki pki;
  TestCert a = pki.Agent("agent-a");
  auto m = LoadTlsMaterial({a.cert, a.cert, a.key, ""});
  ASSERT_FALSE(m.has_value());
  EXPECT_EQ(m.error()[0].code, TransportError::Code::kNotACa);
}

TEST(TlsFilesTest, WarnsAboutExpiryForeignIssuerAndKeyPermissions) {
  TestPki pki, other("Other CA");
  auto now = Clock::now();
  TestCert soon = pki.Agent("agent-a", now - 1h, now + 10 * 24h);
  ::chmod(soon.key.c_str(), 0644);
  auto m = LoadTlsMaterial({other.ca_file(), soon.cert, soon.key, ""});
  ASSERT_TRUE(m.has_value());
  std::string all;
  for (const auto& w : m->warnings) all += w + "\n";
  EXPECT_NE(all.find("expires in less than 30 days"), std::string::npos) << all;
  EXPECT_NE(all.find("does not chain to CA"), std::string::npos) << all;
  EXPECT_NE(all.find("chmod 600"), std::string::npos) << all;
}

class PeerVerifierTest : public ::testing::Test {
 protected:
  std::unique_ptr<PeerVerifier> Make(bool with_crl = true) {
    auto v = PeerVerifier::Create(pki_.ca_file(), with_crl ? pki_.crl_file() : "");
    EXPECT_TRUE(v.has_value());
    return v ? std::move(*v) : nullptr;
  }
  PeerRejection Reason(PeerVerifier& v, const std::string& pem) {
    auto r = v.Verify(pem);
    EXPECT_FALSE(r.has_value());
    return r ? PeerRejection::kBadCertificate : r.error().reason;
  }
  TestPki pki_;
};

TEST_F(PeerVerifierTest, AcceptsAValidAgentAndReportsItsIdentity) {
  auto v = Make();
  TestCert c = pki_.Agent("agent-a");
  auto r = v->Verify(Read(c.cert));
  ASSERT_TRUE(r.has_value()) << r.error().detail;
  EXPECT_EQ(r->common_name, "agent-a");
  EXPECT_EQ(r->serial_hex, c.serial);
  EXPECT_EQ(r->fingerprint_sha256.size(), 32u * 3 - 1);
}

TEST_F(PeerVerifierTest, NamesEveryReason) {
  auto now = Clock::now();
  TestPki other("Other CA");
  TestCert expired = pki_.Agent("agent-a", now - 48h, now - 24h);
  TestCert future = pki_.Agent("agent-a", now + 24h, now + 48h);
  TestCert revoked = pki_.Agent("agent-r");
  pki_.Revoke("agent-r");
  TestCert foreign = other.Agent("agent-a");
  TestCert server = pki_.Collector("agent-a");
  auto v = Make();
  EXPECT_EQ(Reason(*v, ""), PeerRejection::kNoClientCertificate);
  EXPECT_EQ(Reason(*v, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
            PeerRejection::kBadCertificate);
  EXPECT_EQ(Reason(*v, Read(expired.cert)), PeerRejection::kExpired);
  EXPECT_EQ(Reason(*v, Read(future.cert)), PeerRejection::kNotYetValid);
  EXPECT_EQ(Reason(*v, Read(revoked.cert)), PeerRejection::kRevoked);
  EXPECT_EQ(Reason(*v, Read(foreign.cert)), PeerRejection::kUnknownCa);
  EXPECT_EQ(Reason(*v, Read(server.cert)), PeerRejection::kWrongPurpose);
  EXPECT_EQ(Reason(*v, Read(pki_.ca_file())), PeerRejection::kWrongPurpose);
  // A signature that does not verify: flip a bit in the signature value.
  std::string pem = Read(pki_.Agent("agent-s").cert);
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  ASSERT_NE(x, nullptr);
  const ASN1_BIT_STRING* sig = nullptr;
  X509_get0_signature(&sig, nullptr, x);
  const_cast<unsigned char*>(ASN1_STRING_get0_data(sig))[10] ^= 0x01;
  unsigned char* der = nullptr;
  int len = i2d_X509(x, &der);  // re-encodes with the damaged signature
  ASSERT_GT(len, 0);
  X509_free(x);
  const unsigned char* p = der;
  X509* tampered = d2i_X509(nullptr, &p, len);
  OPENSSL_free(der);
  BIO* out = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(out, tampered);
  char* data = nullptr;
  long n = BIO_get_mem_data(out, &data);
  std::string tampered_pem(data, static_cast<size_t>(n));
  BIO_free(out);
  X509_free(tampered);
  EXPECT_EQ(Reason(*v, tampered_pem), PeerRejection::kBadSignature);
}

TEST_F(PeerVerifierTest, AnExpiredCrlRejectsWithItsOwnReason) {
  TestCert c = pki_.Agent("agent-a");
  ASSERT_TRUE(pki_.ca().WriteCrl(std::chrono::days(0)).has_value());  // nextUpdate == now
  std::this_thread::sleep_for(1100ms);  // the CRL's own clock: it is now past nextUpdate
  auto v = Make();
  EXPECT_EQ(Reason(*v, Read(c.cert)), PeerRejection::kCrlUnusable);
  // Without a CRL configured the same certificate passes.
  EXPECT_TRUE(Make(false)->Verify(Read(c.cert)).has_value());
}

TEST_F(PeerVerifierTest, PicksUpARevocationWhenTheCrlFileChanges) {
  TestCert c = pki_.Agent("agent-a");
  auto v = Make();
  ASSERT_TRUE(v->Verify(Read(c.cert)).has_value());
  pki_.Revoke("agent-a");
  auto reloaded = v->ReloadIfChanged();
  ASSERT_TRUE(reloaded.has_value());
  EXPECT_TRUE(*reloaded);
  EXPECT_EQ(Reason(*v, Read(c.cert)), PeerRejection::kRevoked);
  EXPECT_FALSE(*v->ReloadIfChanged());  // unchanged now
}

TEST_F(PeerVerifierTest, ABrokenCrlFileKeepsThePreviousState) {
  TestCert c = pki_.Agent("agent-a");
  pki_.Revoke("agent-a");
  auto v = Make();
  Write(pki_.crl_file(), "garbage");
  EXPECT_FALSE(v->ReloadIfChanged().has_value());
  EXPECT_EQ(Reason(*v, Read(c.cert)), PeerRejection::kRevoked);
}

TEST(CertificateAuthorityTest, InitWritesAPrivateKeyAndACaCertificateAndRefusesTwice) {
  TempDir dir;
  auto ca = CertificateAuthority::Init(dir.path() / "pki", {});
  ASSERT_TRUE(ca.has_value()) << ca.error().ToString();
  struct stat st {};
  ASSERT_EQ(::stat((dir.path() / "pki" / "ca.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto certs = Read(ca->ca_cert_path().string());
  BIO* bio = BIO_new_mem_buf(certs.data(), static_cast<int>(certs.size()));
  X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(X509_check_ca(x), 1);
  X509_free(x);
  EXPECT_FALSE(Read(ca->crl_path().string()).empty());
  auto again = CertificateAuthority::Init(dir.path() / "pki", {});
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, TransportError::Code::kAlreadyExists);
}

TEST(CertificateAuthorityTest, IssuesRevokesAndRemembersAcrossOpens) {
  TempDir dir;
  {
    auto ca = CertificateAuthority::Init(dir.path(), {});
    ASSERT_TRUE(ca.has_value());
    IssueRequest r;
    r.name = "agent-x";
    auto rec = ca->Issue(r);
    ASSERT_TRUE(rec.has_value()) << rec.error().ToString();
    struct stat st {};
    ASSERT_EQ(::stat(rec->key_path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    r.name = "agent-x";  // rotation: a second certificate of the same name
    ASSERT_TRUE(ca->Issue(r).has_value());
  }
  auto ca = CertificateAuthority::Open(dir.path());
  ASSERT_TRUE(ca.has_value()) << ca.error().ToString();
  ASSERT_EQ(ca->Certificates().size(), 2u);
  auto revoked = ca->Revoke("agent-x", std::nullopt, RevocationReason::kSuperseded);
  ASSERT_TRUE(revoked.has_value());
  EXPECT_EQ(revoked->size(), 2u);
  auto none = ca->Revoke("agent-x", std::nullopt, RevocationReason::kSuperseded);
  ASSERT_FALSE(none.has_value());
  EXPECT_EQ(none.error().code, TransportError::Code::kNotFound);
  // A second vigilctl on the same directory gives up instead of interleaving.
  auto concurrent = CertificateAuthority::Open(dir.path());
  ASSERT_FALSE(concurrent.has_value());
  EXPECT_NE(concurrent.error().message.find("in use"), std::string::npos);
}

TEST(CertificateAuthorityTest, RejectsBadNamesAndCollectorsWithoutSan) {
  TempDir dir;
  auto ca = CertificateAuthority::Init(dir.path(), {});
  IssueRequest r;
  for (const char* bad : {"", "has space", "../escape", "-dash", "x/y"}) {
    r.name = bad;
    auto rec = ca->Issue(r);
    ASSERT_FALSE(rec.has_value()) << bad;
    EXPECT_EQ(rec.error().code, TransportError::Code::kInvalidArgument);
  }
  r.name = "collector";
  r.kind = CertificateKind::kCollector;
  EXPECT_FALSE(ca->Issue(r).has_value());
  r.sans = {"DNS:collector.gov", "IP:10.0.0.5", "IP:fd00::1"};
  EXPECT_TRUE(ca->Issue(r).has_value());
  r.sans = {"IP:999.1.1.1"};
  EXPECT_FALSE(ca->Issue(r).has_value());
  r.sans = {"URI:x"};
  EXPECT_FALSE(ca->Issue(r).has_value());
}

TEST(CertificateAuthorityTest, Ed25519CaSignsVerifiableCertificates) {
  TestPki pki("Ed CA", KeyType::kEd25519);
  TestCert c = pki.Agent("agent-ed");
  auto v = PeerVerifier::Create(pki.ca_file(), pki.crl_file());
  ASSERT_TRUE(v.has_value());
  auto r = (*v)->Verify(Read(c.cert));
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().detail);
}

}  // namespace
}  // namespace vigil::transport
