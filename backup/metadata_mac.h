#pragma once
// With encryption on, the repository's metadata is authenticated too: a
// manifest carries an HMAC-SHA256 of its content, keyed by HKDF from the
// encryption secret with a label of its own, so whoever can write the
// repository but lacks the key cannot swap an artifact for a plaintext one
// and re-seal the manifest around it. A MAC'd marker names the first backup
// taken with a key; a backup without a MAC is accepted only from before it
// (taken before encryption was turned on).

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "backup/pipeline/artifact_cipher.h"
#include "backup/repository.h"
#include "backup/target.h"

namespace dbkeeper {

// Hex HMAC-SHA256 of `text` under the key derived from `secret` for `label`.
std::string metadata_mac(const Secret& secret, std::string_view label, std::string_view text);

// Sets `manifest.mac` (and writes the target's marker on its first keyed
// backup) when the target has an encryption key; does nothing otherwise.
void seal_manifest(const Target& target, const Repository& repository, BackupManifest& manifest);

// Throws Error{integrity} naming the backup when the target has keys and
// `entry`'s manifest is not authentic: its MAC does not match any key, it
// lists encrypted artifacts without a MAC, or it carries no MAC though it
// is not older than the first backup taken with a key.
void authenticate_manifest(const Target& target, const Repository& repository, const BackupEntry& entry);

// The id of the first backup taken with a key, from the target's marker;
// nullopt when there is none. Throws Error{integrity} when the marker does
// not match its MAC under any of `keys`.
std::optional<std::string> encrypted_since(const std::filesystem::path& target_directory, const EncryptionKeys& keys);

}  // namespace dbkeeper
