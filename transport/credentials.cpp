#include "transport/credentials.h"

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>

namespace vigil::transport {

std::shared_ptr<grpc::ServerCredentials> MakeServerCredentials(const TlsMaterial& material) {
  // REQUEST_..._BUT_DONT_VERIFY: the handshake also completes without a
  // certificate, so "no client certificate" reaches the handler and is
  // counted and answered like every other rejection.
  grpc::SslServerCredentialsOptions options(GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_BUT_DONT_VERIFY);
  options.pem_root_certs = material.ca_pem;
  // PemKeyCertPair is {private_key, cert_chain}: key first.
  options.pem_key_cert_pairs.push_back({material.key_pem, material.cert_pem});
  return grpc::SslServerCredentials(options);
}

std::shared_ptr<grpc::ServerCredentials> MakeInsecureServerCredentials() {
  return grpc::InsecureServerCredentials();
}

std::shared_ptr<grpc::ChannelCredentials> MakeChannelCredentials(const TlsMaterial& material) {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = material.ca_pem;
  options.pem_private_key = material.key_pem;
  options.pem_cert_chain = material.cert_pem;
  return grpc::SslCredentials(options);
}

std::shared_ptr<grpc::ChannelCredentials> MakeInsecureChannelCredentials() {
  return grpc::InsecureChannelCredentials();
}

}  // namespace vigil::transport
