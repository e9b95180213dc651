#pragma once
// gRPC credentials for both ends, built from loaded TLS material. The
// collector's credentials *request* a client certificate but leave the
// verdict to PeerVerifier, which runs in the stream handler: that is what
// lets it reject with a named, counted reason (expired, revoked, ...) instead
// of gRPC's anonymous handshake failure, and answer the agent with that
// reason. A stream whose peer is not verified never reads a message.
// Possession of the private key is still proven in the TLS handshake
// (CertificateVerify), whatever the verification mode. The agent's
// credentials verify the collector's chain and name as usual. Free
// functions, reentrant.

#include <memory>

#include "transport/tls_files.h"

namespace grpc {
class ServerCredentials;
class ChannelCredentials;
}  // namespace grpc

namespace vigil::transport {

/// Collector side: mutual TLS, client certificate requested (verified by
/// PeerVerifier per stream).
std::shared_ptr<grpc::ServerCredentials> MakeServerCredentials(const TlsMaterial& material);
/// Plain text (insecure_plaintext: lab use only; the caller logs a warning).
std::shared_ptr<grpc::ServerCredentials> MakeInsecureServerCredentials();

/// Agent side: presents its certificate, verifies the collector against the
/// CA and the expected name (see ChannelSettings::server_name).
std::shared_ptr<grpc::ChannelCredentials> MakeChannelCredentials(const TlsMaterial& material);
std::shared_ptr<grpc::ChannelCredentials> MakeInsecureChannelCredentials();

}  // namespace vigil::transport
