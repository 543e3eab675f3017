// The s3 storage driver against a real S3 server (Ceph radosgw, which
// checks every signature and payload hash): round trips, multipart uploads
// with bounded memory, atomic visibility, listing past one page, batch
// deletes, keys that need encoding, a wrong secret, and a store that goes
// away.

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <iostream>
#include <random>
#include <thread>

#include "backup/pipeline/sha256_sink.h"
#include "backup/storage/s3_client.h"
#include "backup/storage/storage.h"
#include "core/error.h"
#include "tests/support/fault_proxy.h"
#include "tests/support/s3_server.h"

namespace dbkeeper {
namespace {

using namespace testing;

std::span<const std::byte> bytes(std::string_view text) {
  return std::as_bytes(std::span(text.data(), text.size()));
}

class S3StorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static int counter = 0;
    m_bucket = "dbkeeper-test-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
    S3Client(s3_server().settings(m_bucket)).send(S3Request{.method = "PUT", .operation = "create bucket"});
  }

  std::unique_ptr<Storage> storage(const std::string& prefix = "repo", int parts_in_flight = 2) const {
    StorageSettings settings;
    settings.driver = "s3";
    settings.s3 = s3_server().settings(m_bucket, prefix);
    settings.s3.parts_in_flight = parts_in_flight;
    return open_storage(settings);
  }

  // Multipart uploads the bucket still has open.
  std::size_t open_uploads() const {
    auto response = S3Client(s3_server().settings(m_bucket))
                        .send(S3Request{.query = {{"uploads", ""}}, .operation = "list uploads"});
    return xml_elements(response.body, "Upload", false).size();
  }

  std::string m_bucket;
};

// Deterministic, incompressible bytes.
std::string payload(std::size_t size, unsigned seed) {
  std::mt19937_64 random(seed);
  std::string data(size, '\0');
  for (auto& c : data) c = static_cast<char>(random());
  return data;
}

TEST_F(S3StorageTest, small_objects_round_trip_and_list_stat_and_remove) {
  auto store = storage();
  write_object(*store, "shop/backups/1/manifest.json", "{\"id\": 1}");
  write_object(*store, "shop/backups/1/shop.sql.zst", "data");
  write_object(*store, "shopping/x", "other");
  EXPECT_EQ(read_object(*store, "shop/backups/1/manifest.json"), "{\"id\": 1}");
  auto info = store->stat("shop/backups/1/shop.sql.zst");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->size, 4u);
  EXPECT_GT(info->modified.time_since_epoch().count(), 0);
  EXPECT_FALSE(store->stat("shop/backups/2/manifest.json"));
  std::vector<std::string> keys;
  for (const auto& object : store->list("shop/")) keys.push_back(object.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"shop/backups/1/manifest.json", "shop/backups/1/shop.sql.zst"}));
  // The prefix is the repository's own: another prefix in the bucket is another repository.
  EXPECT_TRUE(storage("elsewhere")->list("").empty());
  store->remove({"shop/backups/1/shop.sql.zst", "never/was"});
  EXPECT_FALSE(store->stat("shop/backups/1/shop.sql.zst"));
  try {
    read_object(*store, "shop/backups/1/shop.sql.zst");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("NoSuchKey"), std::string::npos) << e.what();
  }
}

TEST_F(S3StorageTest, keys_that_need_encoding_round_trip) {
  auto store = storage("prefix with space");
  for (const char* key : {"a b/c+d", "ünï/cødé~", "x/y=z&w;q,r(1)"}) {
    write_object(*store, key, key);
    EXPECT_EQ(read_object(*store, key), key);
  }
  EXPECT_EQ(store->list("").size(), 3u);
}

TEST_F(S3StorageTest, a_large_object_uploads_in_parallel_parts_and_reads_back_whole) {
  auto store = storage("repo", 3);
  std::string data = payload(23 * 1024 * 1024 + 17, 1);
  {
    auto writer = store->create("big/artifact.zst");
    // Written in odd-sized pieces, as a pipeline writes.
    for (std::size_t at = 0; at < data.size(); at += 300001)
      writer->write(bytes(std::string_view(data).substr(at, 300001)));
    EXPECT_FALSE(store->stat("big/artifact.zst")) << "visible before it was committed";
    EXPECT_EQ(writer->commit(), data.size());
  }
  EXPECT_EQ(open_uploads(), 0u);
  Sha256Sink hash;
  store->read("big/artifact.zst", hash);
  EXPECT_EQ(hash.hex_digest(), sha256_hex(data));
  EXPECT_EQ(hash.bytes(), data.size());
}

// This process's resident memory, KiB.
std::size_t resident_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.starts_with("VmRSS:")) return std::stoul(line.substr(6));
  return 0;
}

// Samples resident memory until destroyed; peak() is the highest seen.
class ResidentPeak {
 public:
  ResidentPeak()
      : m_thread([this] {
          while (!m_stop) {
            m_peak = std::max<std::size_t>(m_peak, resident_kib());
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
          }
        }) {}
  ~ResidentPeak() {
    m_stop = true;
    m_thread.join();
  }
  std::size_t peak() const { return m_peak; }

 private:
  std::atomic<bool> m_stop{false};
  std::atomic<std::size_t> m_peak{0};
  std::thread m_thread;
};

TEST_F(S3StorageTest, a_one_gib_object_uploads_and_reads_back_with_flat_memory) {
  // The defaults a repository gets when it sets nothing.
  StorageSettings settings;
  settings.driver = "s3";
  settings.s3 = s3_server().settings(m_bucket, "flat");
  settings.s3.part_size = S3Settings{}.part_size;
  settings.s3.parts_in_flight = S3Settings{}.parts_in_flight;
  auto store = open_storage(settings);
  constexpr std::size_t k_total = 1024u * 1024 * 1024;
  std::string chunk = payload(1024 * 1024, 7);
  Sha256Sink expected;
  std::size_t baseline = resident_kib();
  std::size_t upload_peak = 0, download_peak = 0;
  {
    ResidentPeak peak;
    auto writer = store->create("flat/one-gib.zst");
    for (std::size_t written = 0; written < k_total; written += chunk.size()) {
      chunk[written / chunk.size() % chunk.size()] ^= 1;  // no two chunks alike
      writer->write(bytes(chunk));
      expected.write(bytes(chunk));
    }
    EXPECT_EQ(writer->commit(), k_total);
    upload_peak = peak.peak();
  }
  expected.finish();
  {
    ResidentPeak peak;
    Sha256Sink hash;
    store->read("flat/one-gib.zst", hash);
    EXPECT_EQ(hash.bytes(), k_total);
    EXPECT_EQ(hash.hex_digest(), expected.hex_digest());
    download_peak = peak.peak();
  }
  std::cout << "1 GiB: the upload grew the process by " << (upload_peak - std::min(upload_peak, baseline)) / 1024
            << " MiB, the download by " << (download_peak - std::min(download_peak, baseline)) / 1024 << " MiB\n";
  // The parts in flight and the one being filled, whatever the size of the object.
  std::size_t bound_kib = (settings.s3.part_size * (settings.s3.parts_in_flight + 1)) / 1024 + 16 * 1024;
  EXPECT_LT(upload_peak - std::min(upload_peak, baseline), bound_kib)
      << "upload grew the process by " << (upload_peak - baseline) / 1024 << " MiB";
  // The download streams into the sink; what the upload's buffers left to
  // malloc is reused, so the process stays within the same bound.
  EXPECT_LT(download_peak - std::min(download_peak, baseline), bound_kib)
      << "download grew the process by " << (download_peak - baseline) / 1024 << " MiB";
  store->remove({"flat/one-gib.zst"});
  EXPECT_EQ(open_uploads(), 0u);
}

TEST(S3TlsTest, virtual_host_addressing_over_tls_with_a_ca_file_round_trips) {
  S3Settings tls = s3_server().settings(k_s3_vhost_bucket);
  tls.name = "secure";
  tls.endpoint = s3_server().tls_endpoint();
  tls.path_style = false;  // https://dbkeeper-vhost.localhost:PORT/key
  tls.ca_file = s3_server().ca_file().string();
  S3Client(tls).send(S3Request{.method = "PUT", .operation = "create bucket"});
  auto store = open_storage(StorageSettings{"s3", {}, tls});
  std::string big = payload(6 * 1024 * 1024, 3);  // a multipart upload too
  write_object(*store, "tls/small.txt", "over TLS");
  write_object(*store, "tls/big.bin", big);
  // Had the gateway read the first path segment as the bucket, "tls" would not exist.
  EXPECT_EQ(read_object(*store, "tls/small.txt"), "over TLS");
  EXPECT_EQ(read_object(*store, "tls/big.bin"), big);
  EXPECT_EQ(store->list("tls/").size(), 2u);
  store->remove({"tls/small.txt", "tls/big.bin"});
  EXPECT_TRUE(store->list("tls/").empty());

  // The bucket is in the host name: one the certificate does not name is refused by name.
  S3Settings elsewhere = tls;
  elsewhere.bucket = "dbkeeper-unnamed";
  elsewhere.max_attempts = 1;
  try {
    open_storage(StorageSettings{"s3", {}, elsewhere})->stat("tls/small.txt");
    ADD_FAILURE() << "a host name the certificate does not name was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("dbkeeper-unnamed.localhost"), std::string::npos) << e.what();
  }

  // The system's CAs do not know the test CA: refused, and said so.
  tls.ca_file.clear();
  tls.max_attempts = 1;
  auto untrusted = open_storage(StorageSettings{"s3", {}, tls});
  try {
    untrusted->stat("tls/small.txt");
    ADD_FAILURE() << "a certificate no trusted CA signed was accepted";
  } catch (const Error& e) {
    std::string message = e.what();
    EXPECT_NE(message.find("'secure'"), std::string::npos) << message;
    EXPECT_NE(message.find("certificate"), std::string::npos) << message;
  }
}

TEST_F(S3StorageTest, an_abandoned_upload_leaves_no_object_and_no_open_multipart_upload) {
  auto store = storage();
  {
    auto writer = store->create("partial/artifact.zst");
    writer->write(bytes(payload(12 * 1024 * 1024, 2)));
    EXPECT_EQ(open_uploads(), 1u);
  }  // destroyed without commit: a failed backup
  EXPECT_FALSE(store->stat("partial/artifact.zst"));
  EXPECT_EQ(open_uploads(), 0u);
}

TEST_F(S3StorageTest, listing_goes_past_one_page_and_batch_delete_removes_everything) {
  auto store = storage();
  constexpr int k_objects = 5000;  // five pages of ListObjectsV2, five DeleteObjects batches
  std::vector<std::thread> writers;
  for (int t = 0; t < 8; ++t)
    writers.emplace_back([&, t] {
      for (int i = t; i < k_objects; i += 8) {
        char key[32];
        std::snprintf(key, sizeof key, "log/%06d", i);
        write_object(*store, key, "x");
      }
    });
  for (auto& writer : writers) writer.join();
  auto listed = store->list("log/");
  ASSERT_EQ(listed.size(), static_cast<std::size_t>(k_objects));
  EXPECT_EQ(listed.front().key, "log/000000");
  EXPECT_EQ(listed.back().key, "log/004999");
  for (int i = 0; i < k_objects; ++i) {
    char key[32];
    std::snprintf(key, sizeof key, "log/%06d", i);
    ASSERT_EQ(listed[static_cast<std::size_t>(i)].key, key) << "listed out of order or twice";
  }
  std::vector<std::string> keys;
  for (const auto& object : listed) keys.push_back(object.key);
  store->remove(keys);
  EXPECT_TRUE(store->list("log/").empty());
}

TEST_F(S3StorageTest, a_wrong_secret_is_a_clear_error_naming_the_repository) {
  StorageSettings settings;
  settings.driver = "s3";
  settings.s3 = s3_server().settings(m_bucket, "repo");
  settings.s3.secret_key = Secret("not-the-secret");
  auto store = open_storage(settings);
  try {
    write_object(*store, "a", "b");
    FAIL();
  } catch (const Error& e) {
    std::string message = e.what();
    EXPECT_EQ(e.kind(), ErrorKind::config);
    EXPECT_NE(message.find("s3://" + m_bucket + "/repo"), std::string::npos) << message;
    EXPECT_NE(message.find("SignatureDoesNotMatch"), std::string::npos) << message;
    EXPECT_EQ(message.find("not-the-secret"), std::string::npos) << message;
    EXPECT_EQ(message.find(k_s3_secret_key), std::string::npos) << message;
  }
}

TEST_F(S3StorageTest, a_store_that_went_away_fails_after_retries_then_works_again) {
  auto store = storage();
  s3_server().stop_gateway();
  try {
    write_object(*store, "while-down", "x");
    ADD_FAILURE() << "an upload to a stopped store succeeded";
  } catch (const Error& e) {
    std::string message = e.what();
    EXPECT_EQ(e.kind(), ErrorKind::io);
    EXPECT_NE(message.find("after 5 attempts"), std::string::npos) << message;
    EXPECT_NE(message.find("upload of 'repo/while-down'"), std::string::npos) << message;
  }
  s3_server().start_gateway();
  write_object(*store, "after", "y");
  EXPECT_EQ(read_object(*store, "after"), "y");
  EXPECT_FALSE(store->stat("while-down"));
}

class S3FaultTest : public S3StorageTest {
 protected:
  std::unique_ptr<Storage> through_proxy() const {
    StorageSettings settings;
    settings.driver = "s3";
    settings.s3 = s3_server().settings(m_bucket, "repo");
    settings.s3.endpoint = "http://127.0.0.1:" + std::to_string(m_proxy.port());
    return open_storage(settings);
  }
  FaultProxy m_proxy{s3_server().port()};
};

TEST_F(S3FaultTest, answers_503_are_retried_and_the_upload_succeeds) {
  auto store = through_proxy();
  m_proxy.inject(Fault::unavailable, 2);
  write_object(*store, "retried", "payload");
  EXPECT_EQ(m_proxy.faults_served(), 2);
  EXPECT_EQ(read_object(*store, "retried"), "payload");
}

TEST_F(S3FaultTest, a_connection_dropped_before_the_answer_is_retried) {
  auto store = through_proxy();
  write_object(*store, "dropped", "payload");
  m_proxy.inject(Fault::drop_before_answer, 2);
  EXPECT_EQ(read_object(*store, "dropped"), "payload");
  EXPECT_EQ(m_proxy.faults_served(), 2);
}

TEST_F(S3FaultTest, a_download_cut_short_resumes_where_it_stopped) {
  auto store = through_proxy();
  std::string data = payload(3 * 1024 * 1024, 3);
  write_object(*store, "cut", data);
  m_proxy.inject(Fault::cut_answer, 1, 1024 * 1024);
  Sha256Sink hash;
  store->read("cut", hash);
  EXPECT_EQ(m_proxy.faults_served(), 1);
  EXPECT_EQ(hash.bytes(), data.size());
  EXPECT_EQ(hash.hex_digest(), sha256_hex(data));
}

TEST_F(S3FaultTest, a_store_that_keeps_failing_is_named_with_its_last_answer) {
  auto store = through_proxy();
  m_proxy.inject(Fault::unavailable, 5);
  try {
    write_object(*store, "never", "x");
    FAIL();
  } catch (const Error& e) {
    std::string message = e.what();
    EXPECT_EQ(e.kind(), ErrorKind::io);
    EXPECT_NE(message.find("after 5 attempts: HTTP 503 SlowDown"), std::string::npos) << message;
  }
  EXPECT_EQ(m_proxy.faults_served(), 5);
}

}  // namespace
}  // namespace dbkeeper
