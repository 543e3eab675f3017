#include "backup/metadata_mac.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <algorithm>
#include <array>

#include "backup/untrusted_input.h"
#include "core/atomic_file.h"
#include "core/error.h"

namespace dbkeeper {
namespace {

constexpr char k_info[] = "dbkeeper metadata hmac-sha256 v1";
constexpr const char* k_marker = "encryption.json";

std::array<unsigned char, 32> derive_mac_key(const Secret& secret, std::string_view label) {
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  EVP_KDF_CTX* context = kdf ? EVP_KDF_CTX_new(kdf) : nullptr;
  EVP_KDF_free(kdf);
  if (!context) throw Error(ErrorKind::internal, "HKDF is not available in this OpenSSL");
  std::string digest = "SHA256";
  std::string info = std::string(k_info) + " " + std::string(label);
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest.data(), 0),
                         OSSL_PARAM_construct_octet_string(
                             OSSL_KDF_PARAM_KEY, const_cast<char*>(secret.reveal().data()), secret.reveal().size()),
                         OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info.data(), info.size()),
                         OSSL_PARAM_construct_end()};
  std::array<unsigned char, 32> key{};
  int derived = EVP_KDF_derive(context, key.data(), key.size(), params);
  EVP_KDF_CTX_free(context);
  if (derived != 1) throw Error(ErrorKind::internal, "HKDF key derivation failed");
  return key;
}

bool matches_any(const EncryptionKeys& keys, std::string_view label, std::string_view text, const std::string& mac) {
  return std::any_of(keys.begin(), keys.end(), [&](const Secret* key) {
    auto expected = metadata_mac(*key, label, text);
    return expected.size() == mac.size() && CRYPTO_memcmp(expected.data(), mac.data(), mac.size()) == 0;
  });
}

struct Marker {
  std::string since;  // id of the first backup taken with a key
  bool authentic = false;
};

std::optional<Marker> read_marker(const Target& target, const Repository& repository) {
  auto text = read_repository_file(repository.target_directory(target.name) / k_marker);
  if (!text) return std::nullopt;
  Marker marker;
  try {
    auto j = parse_untrusted_json(*text, "the encryption marker of target '" + target.name + "'");
    marker.since = j.at("since").get<std::string>();
    marker.authentic = matches_any(decryption_keys(target), "since", marker.since, j.at("mac").get<std::string>());
  } catch (const std::exception&) {
    marker.authentic = false;
  }
  return marker;
}

}  // namespace

std::optional<std::string> encrypted_since(const std::filesystem::path& target_directory, const EncryptionKeys& keys) {
  auto text = read_repository_file(target_directory / k_marker);
  if (!text) return std::nullopt;
  try {
    auto j = parse_untrusted_json(*text, "the encryption marker");
    std::string since = j.at("since").get<std::string>();
    if (matches_any(keys, "since", since, j.at("mac").get<std::string>())) return since;
  } catch (const std::exception&) {
  }
  throw Error(ErrorKind::integrity, "the encryption marker in " + target_directory.string() +
                                        " does not match its MAC; records without a MAC are refused");
}

std::string metadata_mac(const Secret& secret, std::string_view label, std::string_view text) {
  auto key = derive_mac_key(secret, label);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  auto* result = HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
                      reinterpret_cast<const unsigned char*>(text.data()), text.size(), mac, &length);
  OPENSSL_cleanse(key.data(), key.size());
  if (!result) throw Error(ErrorKind::internal, "HMAC-SHA256 failed");
  static const char* digits = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    hex += digits[mac[i] >> 4];
    hex += digits[mac[i] & 0xf];
  }
  return hex;
}

void seal_manifest(const Target& target, const Repository& repository, BackupManifest& manifest) {
  const Secret* key = encryption_key(target);
  if (!key) return;
  manifest.mac = metadata_mac(*key, "manifest", manifest_mac_text(manifest));
  auto marker_path = repository.target_directory(target.name) / k_marker;
  if (!std::filesystem::exists(marker_path)) {
    nlohmann::json marker{{"since", manifest.id}, {"mac", metadata_mac(*key, "since", manifest.id)}};
    write_file_atomically(marker_path, marker.dump(2) + "\n", 0640);
  }
}

void authenticate_manifest(const Target& target, const Repository& repository, const BackupEntry& entry) {
  auto keys = decryption_keys(target);
  if (keys.empty()) return;
  const auto& manifest = entry.manifest;
  std::string name = "the manifest of backup " + manifest.id;
  if (!manifest.mac.empty()) {
    if (!matches_any(keys, "manifest", manifest_mac_text(manifest), manifest.mac))
      throw Error(ErrorKind::integrity, name +
                                            " does not match its MAC: it was changed after it was written, or "
                                            "written with a key that is not configured; refused");
    return;
  }
  bool encrypted = std::any_of(manifest.artifacts.begin(), manifest.artifacts.end(),
                               [](const ArtifactRecord& a) { return !a.encryption.empty(); });
  if (encrypted)
    throw Error(ErrorKind::integrity, name + " lists encrypted artifacts but carries no MAC; refused as tampering");
  auto marker = read_marker(target, repository);
  if (!marker) {
    // No backup was ever taken with a key, unless the marker was removed.
    for (const auto& other : repository.list(target.name))
      if (!other.manifest.mac.empty())
        throw Error(ErrorKind::integrity, name +
                                              " carries no MAC, and the target's encryption marker is missing "
                                              "though authenticated backups exist; refused as tampering");
    return;
  }
  if (!marker->authentic)
    throw Error(ErrorKind::integrity, "the encryption marker of target '" + target.name +
                                          "' does not match its MAC; backups without a MAC are refused");
  if (manifest.id >= marker->since)
    throw Error(ErrorKind::integrity, name + " carries no MAC though it is not older than " + marker->since +
                                          ", the first backup taken with a key; refused as tampering");
}

}  // namespace dbkeeper
