#include "backup/dump_stream.h"

#include <fcntl.h>
#include <unistd.h>

#include "backup/pipeline/gzip_decompressor.h"
#include "backup/pipeline/line_filter_sink.h"

#include <algorithm>

#include "core/atomic_file.h"
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

// The stage that decrypts `artifact` into `next`, or null when it is stored
// in the clear.
std::unique_ptr<DecryptingSink> decryptor_for(const ArtifactRecord& artifact, const EncryptionKeys& keys,
                                              ByteSink& next) {
  if (artifact.encryption.empty()) return nullptr;
  if (artifact.encryption != k_artifact_cipher)
    throw Error(ErrorKind::integrity,
                "artifact '" + artifact.name + "' uses an unknown encryption '" + artifact.encryption + "'");
  if (keys.empty())
    throw Error(ErrorKind::config, "artifact '" + artifact.name +
                                       "' is encrypted: set [target.backup] encryption_key_file to the key it was "
                                       "written with");
  return std::make_unique<DecryptingSink>(next, keys);
}

}  // namespace

ArtifactWriter::ArtifactWriter(std::unique_ptr<ByteSink> destination, const CompressionSettings& settings,
                               const Secret* encryption_key)
    : m_settings(settings),
      m_destination(std::move(destination)),
      m_hasher(m_destination.get()),
      m_encryptor(encryption_key ? std::make_unique<EncryptingSink>(m_hasher, *encryption_key) : nullptr),
      m_compressor(m_encryptor ? static_cast<ByteSink&>(*m_encryptor) : m_hasher, settings) {}

void ArtifactWriter::describe(ArtifactRecord& artifact) const {
  artifact.compression = "zstd";
  artifact.compression_level = m_settings.level;
  artifact.encryption = m_encryptor ? k_artifact_cipher : "";
  artifact.raw_bytes = m_compressor.raw_bytes();
  artifact.stored_bytes = m_hasher.bytes();
  artifact.sha256 = m_hasher.hex_digest();
}

void dump_to_artifact(const ProcessSpec& tool, std::unique_ptr<ByteSink> destination,
                      const CompressionSettings& settings, const Secret* encryption_key, ArtifactRecord& artifact,
                      ByteSink* observer, const std::string& context) {
  ProcessSpec spec = tool;
  spec.stdout_to = ProcessOutput::pipe();
  spec.stderr_to = ProcessOutput::pipe();
  ChildProcess child = ChildProcess::start(spec);

  ArtifactWriter compressor(std::move(destination), settings, encryption_key);
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
    // short read is a symptom, not the cause). When it is still running,
    // the failure is ours (a full disk, say): stopping the tool is the
    // consequence, and the reason stays ours.
    bool tool_ended_first = child.wait_for(std::chrono::milliseconds(0)).has_value();
    child.terminate(std::chrono::seconds(5), SIGTERM);
    auto status = child.wait();
    if (tool_ended_first && !status.success() && !stop_requested()) tool_failed(child, status, context);
    throw Error(e.kind(), std::string(e.what()) + " for " + context);
  }
  auto status = child.wait();
  if (!status.success()) tool_failed(child, status, context);

  compressor.describe(artifact);
}

void restore_from_artifact(const ProcessSpec& tool, const std::filesystem::path& file, const ArtifactRecord& artifact,
                           const EncryptionKeys& keys, const std::string& context) {
  ProcessSpec spec = tool;
  spec.stdin_pipe = true;
  spec.stdout_to = ProcessOutput::null();
  spec.stderr_to = ProcessOutput::pipe();
  ChildProcess child = ChildProcess::start(spec);
  try {
    FdSink input(child.take_stdin(), child.program() + " input");
    ZstdDecompressor decompressor(input);
    auto decryptor = decryptor_for(artifact, keys, decompressor);
    pump_file(file, decryptor ? static_cast<ByteSink&>(*decryptor) : decompressor);
  } catch (const Error& e) {
    child.terminate(std::chrono::seconds(5), SIGTERM);
    auto status = child.wait();
    if (!status.success() && !stop_requested()) tool_failed(child, status, context);
    throw Error(e.kind(), std::string(e.what()) + " for " + context);
  }
  auto status = child.wait();
  if (!status.success()) tool_failed(child, status, context);
}

void read_artifact_head(const ProcessSpec& tool, const std::filesystem::path& file, const ArtifactRecord& artifact,
                        const EncryptionKeys& keys, const std::filesystem::path& output, const std::string& context) {
  ProcessSpec spec = tool;
  spec.stdin_pipe = true;
  spec.stdout_to = ProcessOutput::to_file(output);
  spec.stderr_to = ProcessOutput::pipe();
  ChildProcess child = ChildProcess::start(spec);
  try {
    FdSink input(child.take_stdin(), child.program() + " input");
    ZstdDecompressor decompressor(input);
    auto decryptor = decryptor_for(artifact, keys, decompressor);
    pump_file(file, decryptor ? static_cast<ByteSink&>(*decryptor) : decompressor);
  } catch (const Error& e) {
    auto status = child.wait_for(std::chrono::seconds(30));
    if (!status) status = child.terminate(std::chrono::seconds(5), SIGTERM);
    if (status->success()) return;
    if (!stop_requested()) tool_failed(child, *status, context);
    throw Error(e.kind(), std::string(e.what()) + " for " + context);
  }
  auto status = child.wait();
  if (!status.success()) tool_failed(child, status, context);
}

void pipe_tools(const ProcessSpec& producer, const ProcessSpec& consumer,
                const std::vector<std::string>& dropped_line_prefixes, const std::string& context) {
  ProcessSpec consumer_spec = consumer;
  consumer_spec.stdin_pipe = true;
  consumer_spec.stdout_to = ProcessOutput::null();
  consumer_spec.stderr_to = ProcessOutput::pipe();
  ChildProcess sink_child = ChildProcess::start(consumer_spec);
  ProcessSpec producer_spec = producer;
  producer_spec.stdout_to = ProcessOutput::pipe();
  producer_spec.stderr_to = ProcessOutput::pipe();
  ChildProcess source_child = ChildProcess::start(producer_spec);
  try {
    FdSink input(sink_child.take_stdin(), sink_child.program() + " input");
    if (dropped_line_prefixes.empty()) {
      pump(source_child.stdout_fd(), input, (source_child.program() + " output").c_str());
    } else {
      LineFilterSink filter(input, dropped_line_prefixes);
      pump(source_child.stdout_fd(), filter, (source_child.program() + " output").c_str());
    }
  } catch (const Error& e) {
    // A broken pipe or a short read is a symptom: prefer the tools' own account.
    source_child.terminate(std::chrono::seconds(5), SIGTERM);
    auto consumer_status = sink_child.wait_for(std::chrono::seconds(5));
    if (!consumer_status) consumer_status = sink_child.terminate(std::chrono::seconds(5), SIGTERM);
    if (!consumer_status->success() && !stop_requested()) tool_failed(sink_child, *consumer_status, context);
    auto producer_status = source_child.wait();
    if (!producer_status.success() && !stop_requested()) tool_failed(source_child, producer_status, context);
    throw Error(e.kind(), std::string(e.what()) + " for " + context);
  }
  auto producer_status = source_child.wait();
  auto consumer_status = sink_child.wait();
  if (!consumer_status.success()) tool_failed(sink_child, consumer_status, context);
  if (!producer_status.success()) tool_failed(source_child, producer_status, context);
}

void run_tool(const ProcessSpec& tool, const std::string& context) {
  ProcessSpec spec = tool;
  spec.stdout_to = ProcessOutput::null();
  spec.stderr_to = ProcessOutput::pipe();
  ChildProcess child = ChildProcess::start(spec);
  for (;;) {
    if (auto status = child.wait_for(std::chrono::milliseconds(250))) {
      if (!status->success()) tool_failed(child, *status, context);
      return;
    }
    if (stop_requested()) {
      child.terminate(std::chrono::seconds(5), SIGTERM);
      throw Error(ErrorKind::process, "interrupted while running " + child.program() + " for " + context);
    }
  }
}

namespace {

// Reads one file: its stored size and hash, and its raw size through gzip
// when it is gzip-compressed.
ArtifactFile read_artifact_file(const std::filesystem::path& path, const std::string& name) {
  CountingSink raw;
  std::unique_ptr<GzipDecompressor> gunzip;
  if (name.ends_with(".gz")) gunzip = std::make_unique<GzipDecompressor>(raw);
  Sha256Sink hasher(gunzip ? static_cast<ByteSink*>(gunzip.get()) : &raw);
  pump_file(path, hasher);
  return ArtifactFile{name, raw.bytes(), hasher.bytes(), hasher.hex_digest()};
}

std::string file_list_digest(const std::vector<ArtifactFile>& files) {
  std::string list;
  for (const auto& f : files) list += f.name + " " + f.sha256 + "\n";
  return sha256_hex(list);
}

}  // namespace

ArtifactRecord describe_directory_artifact(const std::filesystem::path& directory, const std::string& name,
                                           const std::string& database, const std::string& format) {
  ArtifactRecord artifact;
  artifact.name = name;
  artifact.database = database;
  artifact.format = format;
  artifact.compression = "gzip";
  artifact.compression_level = 0;
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(directory))
    names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  for (const auto& file : names) {
    artifact.files.push_back(read_artifact_file(directory / file, file));
    artifact.raw_bytes += artifact.files.back().raw_bytes;
    artifact.stored_bytes += artifact.files.back().stored_bytes;
  }
  // pg_dump wrote the files; make them durable before the manifest says they exist.
  for (const auto& file : names) {
    UniqueFd fd(::open((directory / file).c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd || ::fsync(fd.get()) != 0)
      throw_system_error("unable to fsync '" + (directory / file).string() + "'", errno);
  }
  sync_directory(directory);
  artifact.sha256 = file_list_digest(artifact.files);
  return artifact;
}

void check_artifact(const std::filesystem::path& file, const ArtifactRecord& artifact, const EncryptionKeys& keys,
                    ByteSink* decompressed) {
  if (!artifact.files.empty()) {
    std::string name = "artifact '" + artifact.name + "'";
    if (file_list_digest(artifact.files) != artifact.sha256)
      throw Error(ErrorKind::integrity, name + ": its file list does not match its checksum");
    for (const auto& expected : artifact.files) {
      std::string file_name = name + " file '" + expected.name + "'";
      ArtifactFile found;
      try {
        found = read_artifact_file(file / expected.name, expected.name);
      } catch (const Error& e) {
        // Damage shows first as a decompression error; name the checksum when it differs.
        Sha256Sink only_hash;
        try {
          pump_file(file / expected.name, only_hash);
        } catch (const Error&) {
          throw Error(ErrorKind::integrity, file_name + ": " + e.what());
        }
        if (only_hash.hex_digest() != expected.sha256)
          throw Error(ErrorKind::integrity, file_name + ": SHA-256 mismatch (expected " + expected.sha256 + ", found " +
                                                only_hash.hex_digest() + ")");
        throw Error(ErrorKind::integrity, file_name + ": " + e.what());
      }
      if (found.sha256 != expected.sha256)
        throw Error(ErrorKind::integrity,
                    file_name + ": SHA-256 mismatch (expected " + expected.sha256 + ", found " + found.sha256 + ")");
      if (found.stored_bytes != expected.stored_bytes || found.raw_bytes != expected.raw_bytes)
        throw Error(ErrorKind::integrity, file_name + ": size differs from the manifest");
    }
    return;
  }
  CountingSink raw(decompressed);
  ZstdDecompressor decompressor(raw);
  auto decryptor = decryptor_for(artifact, keys, decompressor);
  Sha256Sink hasher(decryptor ? static_cast<ByteSink*>(decryptor.get()) : &decompressor);
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
