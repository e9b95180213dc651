// `vigilctl pki` end to end: the administrator's enrolment steps, run as the
// real binary, and the certificates they produce verified the way the
// collector verifies them.

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "tests/transport/test_pki.h"
#include "transport/peer_verifier.h"
#include "transport/tls_files.h"

namespace vigil::transport {
namespace {

using testing::TempDir;

struct CliResult {
  int code;
  std::string out;
};

CliResult Vigilctl(const std::string& args) {
  std::string cmd = std::string(VIGILCTL) + " pki " + args + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  std::string out;
  char buf[512];
  while (size_t n = std::fread(buf, 1, sizeof(buf), p)) out.append(buf, n);
  int status = ::pclose(p);
  return CliResult{WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

TEST(PkiCliTest, EnrolsAnAgencyRevokesAndLists) {
  TempDir dir("vigil-pki-cli");
  std::string d = "--dir " + dir.str();
  CliResult init = Vigilctl(d + " init --name 'Province CA' --org Province");
  ASSERT_EQ(init.code, 0) << init.out;
  EXPECT_EQ(Vigilctl(d + " init").code, 2);  // never overwrites a CA

  CliResult agent = Vigilctl(d + " issue --agent agent-finance-hq");
  ASSERT_EQ(agent.code, 0) << agent.out;
  EXPECT_NE(agent.out.find("agents:"), std::string::npos) << "tells the operator the next step";
  CliResult collector =
      Vigilctl(d + " issue --collector collector --san DNS:localhost,IP:127.0.0.1");
  ASSERT_EQ(collector.code, 0) << collector.out;
  EXPECT_EQ(Vigilctl(d + " issue --collector c2").code, 2) << "a collector needs --san";
  EXPECT_EQ(Vigilctl(d + " issue --agent 'bad name'").code, 2);
  EXPECT_EQ(Vigilctl(d + " issue --agent a --collector b --san DNS:x").code, 2);
  EXPECT_EQ(Vigilctl(d + " frobnicate").code, 2);

  auto issued = dir.path() / "issued";
  struct stat st {};
  ASSERT_EQ(::stat((issued / "agent-finance-hq.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto m = LoadTlsMaterial(
      {(dir.path() / "ca.crt").string(), (issued / "agent-finance-hq.crt").string(),
       (issued / "agent-finance-hq.key").string(), (dir.path() / "ca.crl").string()});
  ASSERT_TRUE(m.has_value()) << JoinErrors(m.error());
  EXPECT_EQ(m->common_name, "agent-finance-hq");

  auto verifier =
      PeerVerifier::Create((dir.path() / "ca.crt").string(), (dir.path() / "ca.crl").string());
  ASSERT_TRUE(verifier.has_value());
  std::string pem = ReadSmallFile((issued / "agent-finance-hq.crt").string()).value();
  ASSERT_TRUE((*verifier)->Verify(pem).has_value());
  // The collector's certificate is for servers only.
  std::string server_pem = ReadSmallFile((issued / "collector.crt").string()).value();
  auto as_client = (*verifier)->Verify(server_pem);
  ASSERT_FALSE(as_client.has_value());
  EXPECT_EQ(as_client.error().reason, PeerRejection::kWrongPurpose);

  CliResult revoke = Vigilctl(d + " revoke agent-finance-hq --reason key_compromise");
  ASSERT_EQ(revoke.code, 0) << revoke.out;
  EXPECT_EQ(Vigilctl(d + " revoke agent-finance-hq").code, 1) << "nothing left to revoke";
  ASSERT_TRUE((*verifier)->ReloadIfChanged().value_or(false));
  auto rejected = (*verifier)->Verify(pem);
  ASSERT_FALSE(rejected.has_value());
  EXPECT_EQ(rejected.error().reason, PeerRejection::kRevoked);

  CliResult list = Vigilctl(d + " list --json");
  ASSERT_EQ(list.code, 0);
  EXPECT_NE(list.out.find("\"name\":\"agent-finance-hq\""), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("\"status\":\"revoked\""), std::string::npos);
  EXPECT_NE(list.out.find("\"reason\":\"key_compromise\""), std::string::npos);
  EXPECT_NE(list.out.find("\"kind\":\"collector\""), std::string::npos);
  EXPECT_EQ(Vigilctl(d + " crl --days 30").code, 0);
  EXPECT_EQ(Vigilctl("--dir " + (dir.path() / "nothing").string() + " list").code, 1);
}

TEST(PkiCliTest, ValidFromMakesACertificateThatIsNotValidYet) {
  TempDir dir("vigil-pki-cli");
  std::string d = "--dir " + dir.str();
  ASSERT_EQ(Vigilctl(d + " init").code, 0);
  ASSERT_EQ(Vigilctl(d + " issue --agent later --valid-from 2099-01-01T00:00:00Z --days 10").code,
            0);
  EXPECT_EQ(Vigilctl(d + " issue --agent x --valid-from yesterday").code, 2);
  auto verifier = PeerVerifier::Create((dir.path() / "ca.crt").string(), "");
  auto r =
      (*verifier)->Verify(ReadSmallFile((dir.path() / "issued" / "later.crt").string()).value());
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().reason, PeerRejection::kNotYetValid);
}

}  // namespace
}  // namespace vigil::transport
