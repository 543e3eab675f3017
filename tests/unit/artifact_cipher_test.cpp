#include "backup/pipeline/artifact_cipher.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "core/error.h"

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

const Secret k_secret("0123456789abcdef0123456789abcdef-test-secret");
const Secret k_other_secret("fedcba9876543210fedcba9876543210-other-secret");

std::span<const std::byte> as_bytes(const std::string& text) {
  return std::as_bytes(std::span(text.data(), text.size()));
}

std::string random_text(std::size_t size, unsigned seed = 7) {
  std::mt19937 random(seed);
  std::string text(size, '\0');
  for (auto& c : text) c = static_cast<char>(random());
  return text;
}

std::string encrypt(const std::string& plain, std::size_t piece = 1000, const Secret& secret = k_secret) {
  StringSink out;
  EncryptingSink sink(out, secret);
  for (std::size_t i = 0; i < plain.size(); i += piece) sink.write(as_bytes(plain.substr(i, piece)));
  sink.finish();
  EXPECT_TRUE(out.finished);
  return out.text;
}

std::string decrypt(const std::string& stored, std::size_t piece = 4096, const Secret& secret = k_secret) {
  StringSink out;
  DecryptingSink sink(out, {&secret});
  for (std::size_t i = 0; i < stored.size(); i += piece) sink.write(as_bytes(stored.substr(i, piece)));
  sink.finish();
  EXPECT_TRUE(out.finished);
  return out.text;
}

std::string decrypt_error(const std::string& stored, const Secret& secret = k_secret) {
  try {
    decrypt(stored, 4096, secret);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::integrity);
    return e.what();
  }
  return "no error";
}

constexpr std::size_t k_chunk = 64 * 1024;

TEST(artifact_cipher, round_trips_every_size_around_the_chunk_boundaries) {
  for (std::size_t size :
       {std::size_t{0}, std::size_t{1}, k_chunk - 1, k_chunk, k_chunk + 1, 3 * k_chunk, 3 * k_chunk + 17}) {
    auto plain = random_text(size);
    auto stored = encrypt(plain, 777);
    EXPECT_EQ(decrypt(stored, 5000), plain) << size;
    EXPECT_EQ(decrypt(stored, 1), plain) << size;
  }
}

TEST(artifact_cipher, hides_the_plaintext_and_never_repeats_a_key) {
  std::string plain(200000, 'A');
  plain += "CREATE TABLE customers";
  auto first = encrypt(plain);
  auto second = encrypt(plain);
  EXPECT_EQ(first.find("CREATE TABLE"), std::string::npos);
  EXPECT_EQ(first.find(std::string(64, 'A')), std::string::npos);
  EXPECT_NE(first, second);  // a new salt, so a new key, per artifact
  EXPECT_EQ(first.substr(0, 8), "DBKENC01");
}

TEST(artifact_cipher, a_wrong_key_is_named_as_such) {
  auto stored = encrypt(random_text(1000));
  EXPECT_NE(decrypt_error(stored, k_other_secret).find("different key"), std::string::npos);
}

TEST(artifact_cipher, reads_with_whichever_of_several_keys_wrote_it) {
  auto plain = random_text(3000);
  auto old_artifact = encrypt(plain, 1000, k_other_secret);
  auto new_artifact = encrypt(plain, 1000, k_secret);
  for (const auto& stored : {old_artifact, new_artifact}) {
    StringSink out;
    DecryptingSink sink(out, {&k_secret, &k_other_secret});
    sink.write(as_bytes(stored));
    sink.finish();
    EXPECT_EQ(out.text, plain);
  }
  StringSink out;
  Secret third("a third secret that wrote none of them at all");
  DecryptingSink sink(out, {&k_secret, &third});
  try {
    sink.write(as_bytes(old_artifact));
    FAIL() << "read with keys that did not write it";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("previous_encryption_key_files"), std::string::npos) << e.what();
  }
}

TEST(artifact_cipher, any_flipped_byte_fails_authentication) {
  auto stored = encrypt(random_text(2 * k_chunk + 100));
  for (std::size_t at : {std::size_t{60}, k_chunk, 2 * k_chunk + 90, stored.size() - 1}) {
    auto damaged = stored;
    damaged[at] = static_cast<char>(damaged[at] ^ 0x01);
    EXPECT_NE(decrypt_error(damaged).find("fails authentication"), std::string::npos) << at;
  }
}

TEST(artifact_cipher, truncation_at_a_chunk_boundary_or_reordering_is_detected) {
  auto stored = encrypt(random_text(3 * k_chunk + 5));
  constexpr std::size_t header = 56;
  constexpr std::size_t sealed = k_chunk + 16;
  // Cut after two whole chunks: the second was sealed as "not the last".
  EXPECT_NE(decrypt_error(stored.substr(0, header + 2 * sealed)).find("fails authentication"), std::string::npos);
  // Swap the first two chunks.
  auto swapped = stored.substr(0, header) + stored.substr(header + sealed, sealed) + stored.substr(header, sealed) +
                 stored.substr(header + 2 * sealed);
  EXPECT_NE(decrypt_error(swapped).find("fails authentication"), std::string::npos);
  EXPECT_NE(decrypt_error(stored.substr(0, 20)).find("truncated"), std::string::npos);
  EXPECT_NE(decrypt_error(stored.substr(0, header + 3)).find("truncated"), std::string::npos);
}

TEST(artifact_cipher, plain_data_is_not_mistaken_for_an_artifact) {
  EXPECT_NE(decrypt_error(std::string(100, 'x')).find("not an artifact encrypted by dbkeeper"), std::string::npos);
}

TEST(artifact_cipher, a_short_secret_is_refused) {
  StringSink out;
  EncryptingSink sink(out, Secret("short"));
  try {
    sink.finish();
    FAIL() << "a 5-byte secret was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::config);
  }
}

}  // namespace
}  // namespace dbkeeper
