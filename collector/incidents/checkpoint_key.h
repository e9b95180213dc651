#pragma once
// Ed25519 keys for signed checkpoints (OpenSSL 3 EVP API). The collector owns
// one SigningKey (private key file, mode 0600, path from config); auditors get
// the public key (PEM) and verify with a VerifyKey. Key ids are the first 16
// hex digits of SHA-256 over the raw 32-byte public key, so a checkpoint names
// the key that signed it and keys can be rotated. Both classes are immutable
// after loading and safe to use from several threads.

#include <cstdint>
#include <expected>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "collector/incidents/chain_record.h"
#include "collector/incidents/store_error.h"

namespace vigil::collector::incidents {

/// Writes a new Ed25519 key pair: the private key as PKCS#8 PEM, created with
/// mode 0600 (refuses to overwrite an existing file), and the public key as
/// SubjectPublicKeyInfo PEM (mode 0644) for auditors. Returns the key id.
std::expected<std::string, StoreError> GenerateSigningKey(const std::filesystem::path& private_path,
                                                          const std::filesystem::path& public_path);

class SigningKey {
 public:
  /// Loads a PEM private key. Refuses files readable by group or others.
  static std::expected<SigningKey, StoreError> Load(const std::filesystem::path& path);
  std::string Sign(std::string_view message) const;
  const std::string& key_id() const { return key_id_; }
  std::string PublicKeyPem() const;

 private:
  std::shared_ptr<void> key_;  // EVP_PKEY*
  std::string key_id_;
};

class VerifyKey {
 public:
  /// Accepts a public key PEM (or a private key PEM, whose public half is used).
  static std::expected<VerifyKey, StoreError> Load(const std::filesystem::path& path);
  static std::expected<VerifyKey, StoreError> FromPem(std::string_view pem);
  bool Verify(std::string_view message, std::string_view signature) const;
  const std::string& key_id() const { return key_id_; }

 private:
  std::shared_ptr<void> key_;  // EVP_PKEY*
  std::string key_id_;
};

/// The exact bytes a checkpoint signature covers (see docs/audit.md):
///   F("vigil-checkpoint-v1") F(store_id) F(u64 covers_seq) F(covers_hash, 32 raw bytes)
///   F(i64 recorded_ns) F(reason) F(key_id)
std::string CheckpointMessage(std::string_view store_id, uint64_t covers_seq,
                              const Hash& covers_hash, int64_t recorded_ns, std::string_view reason,
                              std::string_view key_id);

}  // namespace vigil::collector::incidents
