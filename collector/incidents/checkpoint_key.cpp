#include "collector/incidents/checkpoint_key.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace vigil::collector::incidents {
namespace {

std::string OpensslErrors() {
  std::string out;
  unsigned long code = 0;
  while ((code = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

StoreError KeyError(std::string message) { return {ErrorCode::kKey, std::move(message)}; }

std::shared_ptr<void> Wrap(EVP_PKEY* key) {
  return std::shared_ptr<void>(key, [](void* p) { EVP_PKEY_free(static_cast<EVP_PKEY*>(p)); });
}

std::expected<std::string, StoreError> KeyIdOf(EVP_PKEY* key) {
  uint8_t raw[32];
  size_t len = sizeof raw;
  if (EVP_PKEY_get_raw_public_key(key, raw, &len) != 1 || len != sizeof raw) {
    return std::unexpected(KeyError("cannot read the raw public key: " + OpensslErrors()));
  }
  const Hash digest = Sha256(std::string_view(reinterpret_cast<const char*>(raw), len));
  return ToHex(digest).substr(0, 16);
}

std::expected<std::string, StoreError> ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::unexpected(KeyError("cannot read key file " + path.string()));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string PemOf(EVP_PKEY* key, bool private_key) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (private_key) {
    PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  } else {
    PEM_write_bio_PUBKEY(bio, key);
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(len));
  BIO_free(bio);
  return out;
}

void AppendField(std::string& out, std::string_view bytes) {
  const auto n = static_cast<uint32_t>(bytes.size());
  const char len[4] = {static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                       static_cast<char>(n >> 8), static_cast<char>(n)};
  out.append(len, 4);
  out.append(bytes);
}

void AppendU64(std::string& out, uint64_t v) {
  char bytes[8];
  for (int i = 7; i >= 0; --i) {
    bytes[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  AppendField(out, std::string_view(bytes, 8));
}

}  // namespace

std::expected<std::string, StoreError> GenerateSigningKey(
    const std::filesystem::path& private_path, const std::filesystem::path& public_path) {
  EVP_PKEY* raw_key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (raw_key == nullptr)
    return std::unexpected(KeyError("key generation failed: " + OpensslErrors()));
  auto key = Wrap(raw_key);
  auto id = KeyIdOf(raw_key);
  if (!id) return std::unexpected(id.error());

  // O_EXCL: never overwrite a key silently (an existing key may have signed
  // checkpoints auditors still verify). 0600 from creation, not chmod after.
  const int fd = ::open(private_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return std::unexpected(KeyError("cannot create " + private_path.string() + ": " +
                                    std::strerror(errno) + " (refusing to overwrite a key)"));
  }
  const std::string pem = PemOf(raw_key, true);
  const bool ok =
      ::write(fd, pem.data(), pem.size()) == static_cast<ssize_t>(pem.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return std::unexpected(KeyError("cannot write " + private_path.string()));

  const std::string pub = PemOf(raw_key, false);
  std::ofstream out(public_path, std::ios::binary | std::ios::trunc);
  out << pub;
  if (!out.flush()) return std::unexpected(KeyError("cannot write " + public_path.string()));
  return *id;
}

std::expected<SigningKey, StoreError> SigningKey::Load(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return std::unexpected(KeyError("signing key " + path.string() + ": " + std::strerror(errno)));
  }
  if ((st.st_mode & 077) != 0) {
    return std::unexpected(
        KeyError("signing key " + path.string() + " is readable by group or others; chmod 600 it"));
  }
  auto text = ReadFile(path);
  if (!text) return std::unexpected(text.error());
  BIO* bio = BIO_new_mem_buf(text->data(), static_cast<int>(text->size()));
  EVP_PKEY* raw_key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (raw_key == nullptr) {
    return std::unexpected(
        KeyError("signing key " + path.string() + " is not a PEM private key: " + OpensslErrors()));
  }
  SigningKey key;
  key.key_ = Wrap(raw_key);
  if (EVP_PKEY_get_base_id(raw_key) != EVP_PKEY_ED25519) {
    return std::unexpected(KeyError("signing key " + path.string() + " is not an Ed25519 key"));
  }
  auto id = KeyIdOf(raw_key);
  if (!id) return std::unexpected(id.error());
  key.key_id_ = *id;
  return key;
}

std::string SigningKey::Sign(std::string_view message) const {
  auto* pkey = static_cast<EVP_PKEY*>(key_.get());
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  std::string signature(64, '\0');
  size_t len = signature.size();
  // Ed25519 is one-shot: no digest (NULL md), EVP_DigestSign over the message.
  if (ctx == nullptr || EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, pkey) != 1 ||
      EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(signature.data()), &len,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1) {
    EVP_MD_CTX_free(ctx);
    std::fprintf(stderr, "vigil: Ed25519 signing failed: %s\n", OpensslErrors().c_str());
    std::abort();  // a loaded Ed25519 key that cannot sign is an impossible state
  }
  EVP_MD_CTX_free(ctx);
  signature.resize(len);
  return signature;
}

std::string SigningKey::PublicKeyPem() const {
  return PemOf(static_cast<EVP_PKEY*>(key_.get()), false);
}

std::expected<VerifyKey, StoreError> VerifyKey::FromPem(std::string_view pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* raw_key = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  if (raw_key == nullptr) {
    ERR_clear_error();
    BIO_free(bio);
    bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    raw_key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  }
  BIO_free(bio);
  if (raw_key == nullptr) {
    return std::unexpected(KeyError("not a PEM public key: " + OpensslErrors()));
  }
  VerifyKey key;
  key.key_ = Wrap(raw_key);
  if (EVP_PKEY_get_base_id(raw_key) != EVP_PKEY_ED25519) {
    return std::unexpected(KeyError("not an Ed25519 key"));
  }
  auto id = KeyIdOf(raw_key);
  if (!id) return std::unexpected(id.error());
  key.key_id_ = *id;
  return key;
}

std::expected<VerifyKey, StoreError> VerifyKey::Load(const std::filesystem::path& path) {
  auto text = ReadFile(path);
  if (!text) return std::unexpected(text.error());
  auto key = FromPem(*text);
  if (!key) return std::unexpected(KeyError(path.string() + ": " + key.error().message));
  return key;
}

bool VerifyKey::Verify(std::string_view message, std::string_view signature) const {
  auto* pkey = static_cast<EVP_PKEY*>(key_.get());
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = ctx != nullptr && EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, pkey) == 1 &&
            EVP_DigestVerify(
                ctx, reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
  EVP_MD_CTX_free(ctx);
  ERR_clear_error();
  return ok;
}

std::string CheckpointMessage(std::string_view store_id, uint64_t covers_seq,
                              const Hash& covers_hash, int64_t recorded_ns, std::string_view reason,
                              std::string_view key_id) {
  std::string out;
  AppendField(out, "vigil-checkpoint-v1");
  AppendField(out, store_id);
  AppendU64(out, covers_seq);
  AppendField(
      out, std::string_view(reinterpret_cast<const char*>(covers_hash.data()), covers_hash.size()));
  AppendU64(out, static_cast<uint64_t>(recorded_ns));
  AppendField(out, reason);
  AppendField(out, key_id);
  return out;
}

}  // namespace vigil::collector::incidents
