#pragma once
// Runs a dump tool and streams its stdout through the pipeline into one
// artifact file, and the reverse for restores. Both fail with the tool's own
// stderr in the message when it exits non-zero or dies by a signal.

#include <filesystem>
#include <string>
#include <vector>

#include "backup/manifest.h"
#include "backup/pipeline/artifact_cipher.h"
#include "backup/pipeline/byte_sink.h"
#include "backup/pipeline/file_sink.h"
#include "backup/pipeline/sha256_sink.h"
#include "backup/pipeline/zstd_compressor.h"
#include "core/child_process.h"
#include "core/secret.h"

namespace dbkeeper {

// How every single-file artifact is stored: zstd -> [encrypt, when a key is
// given] -> sha256 -> `file` (fsynced on finish). The checksum is of the
// bytes as stored, so a copy can be checked without the key.
class ArtifactWriter final : public ByteSink {
 public:
  // Writes into `destination` (a file, an object being uploaded), which
  // finish() finishes.
  ArtifactWriter(std::unique_ptr<ByteSink> destination, const CompressionSettings& settings,
                 const Secret* encryption_key);
  void write(std::span<const std::byte> data) override { m_compressor.write(data); }
  void finish() override { m_compressor.finish(); }
  // After finish(): the compression, encryption, sizes and checksum.
  void describe(ArtifactRecord& artifact) const;

 private:
  CompressionSettings m_settings;
  std::unique_ptr<ByteSink> m_destination;
  Sha256Sink m_hasher;
  std::unique_ptr<EncryptingSink> m_encryptor;
  ZstdCompressor m_compressor;
};

// stdout of `tool` -> [observer] -> ArtifactWriter. Fills the sizes,
// checksum, compression and encryption of `artifact`.
void dump_to_artifact(const ProcessSpec& tool, std::unique_ptr<ByteSink> destination,
                      const CompressionSettings& settings, const Secret* encryption_key, ArtifactRecord& artifact,
                      ByteSink* observer, const std::string& context);

// `file` -> [decrypt] -> zstd -d -> stdin of `tool`. The caller has checked
// the checksum.
void restore_from_artifact(const ProcessSpec& tool, const std::filesystem::path& file, const ArtifactRecord& artifact,
                           const EncryptionKeys& keys, const std::string& context);

// The same for a tool that reads only the head of its input and writes what
// it found to `output` (pg_restore --list): its closing the pipe early is
// not a failure when it exits 0.
void read_artifact_head(const ProcessSpec& tool, const std::filesystem::path& file, const ArtifactRecord& artifact,
                        const EncryptionKeys& keys, const std::filesystem::path& output, const std::string& context);

// stdout of `producer` -> [drop lines starting with one of
// `dropped_line_prefixes`] -> stdin of `consumer`, both run to completion.
// When either fails, both are stopped and the consumer's account is
// preferred (it names the statement that failed).
void pipe_tools(const ProcessSpec& producer, const ProcessSpec& consumer,
                const std::vector<std::string>& dropped_line_prefixes, const std::string& context);

// Runs a tool that writes its own output files (pg_dump --format=directory,
// pg_restore --jobs) to completion; stops it on a stop request. Throws
// Error{process} with the tool's stderr when it fails.
void run_tool(const ProcessSpec& tool, const std::string& context);

// Describes a directory a tool wrote as one artifact: every file's size and
// SHA-256, and (for .gz files) its decompressed size.
ArtifactRecord describe_directory_artifact(const std::filesystem::path& directory, const std::string& name,
                                           const std::string& database, const std::string& format);

// Re-reads `file`, checks its SHA-256 and that it decrypts (when it is
// encrypted) and decompresses to `raw_bytes`; throws Error{integrity} naming
// the artifact, or Error{config} when it is encrypted and no key is given.
// A directory artifact is checked file by file. A single-file artifact's
// decompressed bytes go on to `decompressed` when given (finished at the
// end; trusted only if this returns).
void check_artifact(const std::filesystem::path& file, const ArtifactRecord& artifact, const EncryptionKeys& keys,
                    ByteSink* decompressed = nullptr);

// First line of `program --version`, or "unknown".
std::string tool_version(const std::string& program);

}  // namespace dbkeeper
