#include <gtest/gtest.h>

#include <fcntl.h>
#include <fstream>
#include <random>

#include "backup/dump_stream.h"
#include "backup/pipeline/file_sink.h"
#include "backup/pipeline/line_filter_sink.h"
#include "backup/pipeline/sha256_sink.h"
#include "backup/pipeline/zstd_compressor.h"
#include "backup/verify_job.h"
#include "core/error.h"
#include "core/temp_dir.h"

namespace dbkeeper {
namespace {

class StringSink final : public ByteSink {
 public:
  void write(std::span<const std::byte> data) override {
    text.append(reinterpret_cast<const char*>(data.data()), data.size());
  }
  void finish() override { finished = true; }
  std::string text;
  bool finished = false;
};

std::string sample_text(std::size_t size) {
  std::mt19937 random(42);
  std::string text;
  while (text.size() < size) text += "INSERT INTO `t` VALUES (" + std::to_string(random() % 100000) + ",'row');\n";
  return text;
}

// Feeds `input` in chunks of `chunk` bytes through a filter dropping "SET @@gtid" and "SET @@server_id" lines.
std::string filtered(const std::string& input, std::size_t chunk, std::size_t* dropped = nullptr) {
  StringSink out;
  LineFilterSink filter(out, {"SET @@gtid", "SET @@server_id"});
  for (std::size_t i = 0; i < input.size(); i += chunk) {
    auto part = std::string_view(input).substr(i, chunk);
    filter.write(std::as_bytes(std::span(part.data(), part.size())));
  }
  filter.finish();
  EXPECT_TRUE(out.finished);
  if (dropped) *dropped = filter.dropped_lines();
  return out.text;
}

TEST(LineFilterSink, drops_whole_lines_that_start_with_a_prefix_in_any_chunking) {
  std::string long_line = "INSERT " + std::string(100000, 'v') + ";\n";
  std::string input = "BEGIN\nSET @@gtid_seq_no=4;\n" + long_line +
                      "SET @@server_id=1\n  SET @@gtid not at the start\nSET @@gti\nSET @@gtid_seq_no=5;\nCOMMIT";
  std::string expected = "BEGIN\n" + long_line + "  SET @@gtid not at the start\nSET @@gti\nCOMMIT";
  for (std::size_t chunk : {std::size_t{1}, std::size_t{3}, std::size_t{7}, std::size_t{64 * 1024}, input.size()}) {
    std::size_t dropped = 0;
    EXPECT_EQ(filtered(input, chunk, &dropped), expected) << "chunk " << chunk;
    EXPECT_EQ(dropped, 3u) << "chunk " << chunk;
  }
}

TEST(LineFilterSink, an_unterminated_last_line_is_dropped_only_when_it_matches) {
  EXPECT_EQ(filtered("a\nSET @@server_id=2", 4), "a\n");
  EXPECT_EQ(filtered("a\nSET @@serv", 4), "a\nSET @@serv");
  EXPECT_EQ(filtered("", 4), "");
}

TEST(Sha256Sink, hashes_a_known_value) {
  Sha256Sink hasher;
  std::string text = "abc";
  hasher.write(std::as_bytes(std::span(text.data(), text.size())));
  hasher.finish();
  EXPECT_EQ(hasher.hex_digest(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(ZstdCompressor, round_trips_with_and_without_worker_threads) {
  std::string text = sample_text(3 * 1024 * 1024);
  for (int threads : {0, 2}) {
    StringSink compressed;
    ZstdCompressor compressor(compressed, CompressionSettings{3, threads});
    for (std::size_t at = 0; at < text.size(); at += 100000) {
      auto piece = std::string_view(text).substr(at, 100000);
      compressor.write(std::as_bytes(std::span(piece.data(), piece.size())));
    }
    compressor.finish();
    EXPECT_TRUE(compressed.finished);
    EXPECT_EQ(compressor.raw_bytes(), text.size());
    EXPECT_LT(compressed.text.size(), text.size() / 4);

    StringSink restored;
    ZstdDecompressor decompressor(restored);
    decompressor.write(std::as_bytes(std::span(compressed.text.data(), compressed.text.size())));
    decompressor.finish();
    EXPECT_EQ(restored.text, text) << "threads " << threads;
  }
}

TEST(ZstdDecompressor, rejects_truncated_input) {
  std::string text = sample_text(100000);
  StringSink compressed;
  ZstdCompressor compressor(compressed, CompressionSettings{});
  compressor.write(std::as_bytes(std::span(text.data(), text.size())));
  compressor.finish();
  StringSink restored;
  ZstdDecompressor decompressor(restored);
  auto half = compressed.text.substr(0, compressed.text.size() / 2);
  decompressor.write(std::as_bytes(std::span(half.data(), half.size())));
  try {
    decompressor.finish();
    FAIL() << "accepted a truncated stream";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::integrity);
  }
}

TEST(dump_to_artifact, stores_a_tool_output_and_check_artifact_proves_it) {
  TempDir dir;
  ArtifactRecord artifact;
  artifact.name = "out.zst";
  dump_to_artifact(ProcessSpec{.argv = {"seq", "1", "200000"}}, std::make_unique<FileSink>(dir.path() / "out.zst"),
                   CompressionSettings{}, nullptr, artifact, nullptr, "a test");
  EXPECT_EQ(artifact.raw_bytes, 1288895u);  // the bytes `seq 1 200000` prints
  EXPECT_GT(artifact.stored_bytes, 0u);
  EXPECT_EQ(artifact.stored_bytes, std::filesystem::file_size(dir.path() / "out.zst"));
  EXPECT_NO_THROW(check_artifact(dir.path() / "out.zst", artifact, {}));

  // Flip one byte in the middle: the check names the artifact and the cause.
  {
    std::fstream file(dir.path() / "out.zst", std::ios::in | std::ios::out | std::ios::binary);
    file.seekg(static_cast<std::streamoff>(artifact.stored_bytes / 2));
    char c;
    file.get(c);
    file.seekp(static_cast<std::streamoff>(artifact.stored_bytes / 2));
    file.put(static_cast<char>(c ^ 0x01));
  }
  try {
    check_artifact(dir.path() / "out.zst", artifact, {});
    FAIL() << "a flipped byte went unnoticed";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::integrity);
    EXPECT_NE(std::string(e.what()).find("artifact 'out.zst': SHA-256 mismatch"), std::string::npos) << e.what();
  }
}

TEST(dump_to_artifact, with_a_key_stores_only_ciphertext_that_check_artifact_needs_the_key_for) {
  TempDir dir;
  Secret key("an encryption secret of forty-two characters");
  ArtifactRecord artifact;
  artifact.name = "out.zst";
  dump_to_artifact(ProcessSpec{.argv = {"seq", "1", "200000"}}, std::make_unique<FileSink>(dir.path() / "out.zst"),
                   CompressionSettings{}, &key, artifact, nullptr, "a test");
  EXPECT_EQ(artifact.encryption, "aes-256-gcm");
  EXPECT_EQ(artifact.stored_bytes, std::filesystem::file_size(dir.path() / "out.zst"));
  StringSink plain;
  EXPECT_NO_THROW(check_artifact(dir.path() / "out.zst", artifact, {&key}, &plain));
  EXPECT_EQ(plain.text.substr(0, 8), "1\n2\n3\n4\n");
  EXPECT_EQ(plain.text.size(), artifact.raw_bytes);
  // Still zstd underneath, but not readable as zstd (or as text) on disk.
  std::ifstream stored(dir.path() / "out.zst", std::ios::binary);
  std::string head(4, '\0');
  stored.read(head.data(), 4);
  EXPECT_NE(head, "\x28\xb5\x2f\xfd");
  try {
    check_artifact(dir.path() / "out.zst", artifact, {});
    FAIL() << "an encrypted artifact was read without a key";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::config);
    EXPECT_NE(std::string(e.what()).find("encryption_key_file"), std::string::npos) << e.what();
  }
  Secret other("a different secret, also long enough to use");
  try {
    check_artifact(dir.path() / "out.zst", artifact, {&other});
    FAIL() << "an encrypted artifact was read with the wrong key";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::integrity);
    EXPECT_NE(std::string(e.what()).find("different key"), std::string::npos) << e.what();
  }
}

TEST(dump_to_artifact, a_failing_tool_fails_with_its_stderr) {
  TempDir dir;
  ArtifactRecord artifact;
  try {
    dump_to_artifact(
        ProcessSpec{.argv = {"sh", "-c", "echo partial; echo 'Got error: 1049: Unknown database' >&2; exit 2"}},
        std::make_unique<FileSink>(dir.path() / "out.zst"), CompressionSettings{}, nullptr, artifact, nullptr,
        "database 'x' of target 't'");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::process);
    EXPECT_EQ(std::string(e.what()),
              "sh exited with 2 for database 'x' of target 't': Got error: 1049: Unknown database");
  }
}

TEST(dump_to_artifact, a_tool_killed_by_a_signal_fails) {
  TempDir dir;
  ArtifactRecord artifact;
  try {
    dump_to_artifact(ProcessSpec{.argv = {"sh", "-c", "echo some; kill -KILL $$"}},
                     std::make_unique<FileSink>(dir.path() / "out.zst"), CompressionSettings{}, nullptr, artifact,
                     nullptr, "a test");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("killed by signal 9"), std::string::npos) << e.what();
  }
}

TEST(dump_to_artifact, a_full_disk_fails_the_artifact) {
  // /dev/full answers every write with ENOSPC.
  if (!std::filesystem::exists("/dev/full")) GTEST_FAIL() << "/dev/full is missing";
  TempDir dir;
  std::filesystem::create_symlink("/dev/full", dir.path() / "link");
  ArtifactRecord artifact;
  // FileSink creates exclusively, so write through a fresh path that is /dev/full.
  try {
    FileSink sink("/dev/full");
    FAIL() << "opened /dev/full exclusively";
  } catch (const Error&) {
  }
  try {
    CountingSink counter;
    struct FullDisk final : ByteSink {
      UniqueFd fd{::open("/dev/full", O_WRONLY | O_CLOEXEC)};
      void write(std::span<const std::byte> data) override {
        write_all(fd.get(), data.data(), data.size(), "/dev/full");
      }
      void finish() override {}
    } full;
    Sha256Sink hasher(&full);
    ZstdCompressor compressor(hasher, CompressionSettings{1, 0});
    std::string text = sample_text(4 * 1024 * 1024);
    compressor.write(std::as_bytes(std::span(text.data(), text.size())));
    compressor.finish();
    FAIL() << "wrote to a full disk";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("No space left on device"), std::string::npos) << e.what();
  }
}

TEST(compare_tables, names_every_difference) {
  std::vector<TableRecord> expected{{"a", 1}, {"b", 2}, {"c", 3}};
  std::vector<TableRecord> found{{"a", 1}, {"b", 5}, {"d", 0}};
  auto problems = compare_tables(expected, found);
  ASSERT_EQ(problems.size(), 3u);
  EXPECT_EQ(problems[0], "table 'b' has 5 rows, the manifest says 2");
  EXPECT_EQ(problems[1], "table 'c' is missing after the restore");
  EXPECT_EQ(problems[2], "table 'd' is not in the manifest");
  EXPECT_TRUE(compare_tables(expected, expected).empty());
}

}  // namespace
}  // namespace dbkeeper

#include <sys/mount.h>

namespace dbkeeper {
namespace {

// A full disk is the repository's failure, reported as such (reason io),
// not as the dump tool dying of the SIGTERM that stopped it.
TEST(dump_to_artifact, a_full_disk_is_named_and_is_an_io_error) {
  TempDir dir;
  auto tiny = dir.path() / "tiny";
  std::filesystem::create_directory(tiny);
  ASSERT_EQ(::mount("tmpfs", tiny.c_str(), "tmpfs", 0, "size=256k"), 0) << "mount a 256 KiB tmpfs: " << errno;
  struct Unmount {
    std::filesystem::path path;
    ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
  } unmount{tiny};
  ArtifactRecord artifact;
  artifact.name = "full.zst";
  try {
    dump_to_artifact(ProcessSpec{.argv = {"head", "-c", "20000000", "/dev/urandom"}},
                     std::make_unique<FileSink>(tiny / artifact.name), CompressionSettings{}, nullptr, artifact,
                     nullptr, "a test dump");
    ADD_FAILURE() << "a dump larger than the disk succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::io) << e.what();
    EXPECT_NE(std::string(e.what()).find("No space left on device"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find("signal"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace dbkeeper
