#include "backup/dump_stream.h"

#include "backup/pipeline/file_sink.h"
#include "backup/pipeline/sha256_sink.h"
#include "core/error.h"
#include "core/stop_request.h"

namespace dbkeeper {
namespace {

[[noreturn]] void tool_failed(const ChildProcess& child, const ExitStatus& status, const std::string& context) {
  std::string message = child.program() + " " + status.describe() + " for " + context;
  std::string stderr_text = child.stderr_text();
  if (!stderr_text.empty()) message += ": " + stderr_text;
  throw Error(ErrorKind::process, message);
}

// Writes into a child's stdin.
class FdSink final : public ByteSink {
 public:
  FdSink(UniqueFd fd, std::string what) : m_fd(std::move(fd)), m_what(std::move(what)) {}
  void write(std::span<const std::byte> data) override {
    write_all(m_fd.get(), data.data(), data.size(), m_what.c_str());
  }
  void finish() override { m_fd.reset(); }

 private:
  UniqueFd m_fd;
  std::string m_what;
};

}  // namespace

void dump_to_artifact(const ProcessSpec& tool, const std::filesystem::path& file, const CompressionSettings& settings,
                      ArtifactRecord& artifact, ByteSink* observer, const std::string& context) {
  ProcessSpec spec = tool;
  spec.stdout_to = ProcessOutput::pipe();
  spec.stderr_to = ProcessOutput::pipe();
  ChildProcess child = ChildProcess::start(spec);

  FileSink file_sink(file);
  Sha256Sink hasher(&file_sink);
  ZstdCompressor compressor(hasher, settings);
  // The observer sees the raw stream first and hands it on to compression.
  struct Forward final : ByteSink {
    ByteSink* observer;
    ByteSink& next;
    Forward(ByteSink* o, ByteSink& n) : observer(o), next(n) {}
    void write(std::span<const std::byte> data) override {
      if (observer) observer->write(data);
      next.write(data);
    }
    void finish() override {
      if (observer) observer->finish();
      next.finish();
    }
  } head(observer, compressor);

  try {
    pump(child.stdout_fd(), head, (child.program() + " output").c_str());
  } catch (const Error& e) {
    // Prefer the tool's own account when it died first (a broken pipe or a
    // short read is a symptom, not the cause).
    child.terminate(std::chrono::seconds(5), SIGTERM);
    auto status = child.wait();
    if (!status.success() && !stop_requested()) tool_failed(child, status, context);
    throw Error(e.kind(), std::string(e.what()) + " for " + context);
  }
  auto status = child.wait();
  if (!status.success()) tool_failed(child, status, context);

  artifact.compression = "zstd";
  artifact.compression_level = settings.level;
  artifact.raw_bytes = compressor.raw_bytes();
  artifact.stored_bytes = hasher.bytes();
  artifact.sha256 = hasher.hex_digest();
}

void restore_from_artifact(const ProcessSpec& tool, const std::filesystem::path& file, const std::string& context) {
  ProcessSpec spec = tool;
  spec.stdin_pipe = true;
  spec.stdout_to = ProcessOutput::null();
  spec.stderr_to = ProcessOutput::pipe();
  ChildProcess child = ChildProcess::start(spec);
  try {
    FdSink input(child.take_stdin(), child.program() + " input");
    ZstdDecompressor decompressor(input);
    pump_file(file, decompressor);
  } catch (const Error& e) {
    child.terminate(std::chrono::seconds(5), SIGTERM);
    auto status = child.wait();
    if (!status.success() && !stop_requested()) tool_failed(child, status, context);
    throw Error(e.kind(), std::string(e.what()) + " for " + context);
  }
  auto status = child.wait();
  if (!status.success()) tool_failed(child, status, context);
}

void check_artifact(const std::filesystem::path& file, const ArtifactRecord& artifact) {
  CountingSink raw;
  ZstdDecompressor decompressor(raw);
  Sha256Sink hasher(&decompressor);
  std::string name = "artifact '" + artifact.name + "'";
  try {
    pump_file(file, hasher);
  } catch (const Error& e) {
    // Decompression fails before the checksum is complete when bytes are
    // damaged; report the checksum, which names the cause plainly.
    if (e.kind() != ErrorKind::integrity) throw Error(e.kind(), name + ": " + e.what());
    Sha256Sink only_hash;
    pump_file(file, only_hash);
    if (only_hash.hex_digest() != artifact.sha256)
      throw Error(ErrorKind::integrity,
                  name + ": SHA-256 mismatch (expected " + artifact.sha256 + ", found " + only_hash.hex_digest() + ")");
    throw Error(ErrorKind::integrity, name + ": " + e.what());
  }
  if (hasher.hex_digest() != artifact.sha256)
    throw Error(ErrorKind::integrity,
                name + ": SHA-256 mismatch (expected " + artifact.sha256 + ", found " + hasher.hex_digest() + ")");
  if (hasher.bytes() != artifact.stored_bytes)
    throw Error(ErrorKind::integrity, name + ": size " + std::to_string(hasher.bytes()) + " differs from the " +
                                          std::to_string(artifact.stored_bytes) + " bytes recorded");
  if (raw.bytes() != artifact.raw_bytes)
    throw Error(ErrorKind::integrity, name + ": decompresses to " + std::to_string(raw.bytes()) + " bytes, not " +
                                          std::to_string(artifact.raw_bytes));
}

std::string tool_version(const std::string& program) {
  try {
    auto result = run_process(ProcessSpec{.argv = {program, "--version"}}, std::chrono::seconds(10));
    std::string line = result.stdout_text.substr(0, result.stdout_text.find('\n'));
    return line.empty() ? "unknown" : line;
  } catch (const Error&) {
    return "unknown";
  }
}

}  // namespace dbkeeper
