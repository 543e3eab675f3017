// Backups made straight into an S3 repository (radosgw), a target's first
// repository: artifacts streamed into objects, manifests last, nothing of
// them on the local disk; listed, verified, restored and pruned from the
// store, for both engines; a store that dies mid-backup leaves no backup and
// the next one succeeds.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "backup/backup_job.h"
#include "backup/log_archive_job.h"
#include "backup/prune_job.h"
#include "backup/repository_copy.h"
#include "backup/repository_fetch.h"
#include "backup/restore_job.h"
#include "backup/storage/s3_client.h"
#include "collectors/backup_collector.h"
#include "core/temp_dir.h"
#include "tests/support/agent_process.h"
#include "tests/support/backup_fixture.h"
#include "tests/support/http_get.h"
#include "tests/support/s3_server.h"
#include "tests/support/test_servers.h"

#include <prometheus/text_serializer.h>

namespace dbkeeper {
namespace {

using namespace testing;
using namespace std::chrono_literals;

// The real store, which the test's server gateway stops under a writer once
// it has taken `after` bytes of an artifact: the store dies mid-upload.
class DyingStore final : public Storage {
 public:
  DyingStore(Storage& store, std::size_t after) : m_store(store), m_after(after) {}
  std::string describe() const override { return m_store.describe(); }
  std::unique_ptr<ObjectWriter> create(const std::string& key) override {
    struct Writer final : ObjectWriter {
      std::unique_ptr<ObjectWriter> inner;
      std::size_t after, written = 0;
      void write(std::span<const std::byte> data) override {
        inner->write(data);
        written += data.size();
        if (written >= after && s3_server().gateway_running()) s3_server().stop_gateway();
      }
      std::uint64_t commit() override { return inner->commit(); }
    };
    auto writer = std::make_unique<Writer>();
    writer->inner = m_store.create(key);
    writer->after = key.ends_with(".sql.zst") ? m_after : std::numeric_limits<std::size_t>::max();
    return writer;
  }
  void read(const std::string& key, ByteSink& sink) const override { m_store.read(key, sink); }
  std::optional<ObjectInfo> stat(const std::string& key) const override { return m_store.stat(key); }
  std::vector<ObjectInfo> list(const std::string& prefix) const override { return m_store.list(prefix); }
  void remove(const std::vector<std::string>& keys) override { m_store.remove(keys); }
  std::size_t remove_abandoned_writes(const std::string& prefix) override {
    return m_store.remove_abandoned_writes(prefix);
  }

 private:
  Storage& m_store;
  std::size_t m_after;
};

class PrimaryStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static int counter = 0;
    m_bucket = "dbkeeper-primary-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
    S3Client(s3_server().settings(m_bucket)).send(S3Request{.method = "PUT", .operation = "create bucket"});
    StorageSettings settings;
    settings.driver = "s3";
    settings.s3 = s3_server().settings(m_bucket, "db1");
    settings.s3.name = "offsite";
    m_store = open_storage(settings);
  }

  std::filesystem::path local_root() const { return m_dir.path() / "repository"; }

  Repository repository_with(std::shared_ptr<Storage> store) const {
    return Repository(local_root(), {{"shop", BackupStore{"offsite", std::move(store)}}});
  }

  // A configuration whose target makes its backups in the bucket.
  std::filesystem::path write_config(const Target& target, const std::string& extra_target_lines = "") {
    auto credentials = m_dir.path() / "s3.credentials";
    std::ofstream(credentials) << "access_key_id = " << k_s3_access_key << "\nsecret_access_key = " << k_s3_secret_key
                               << "\n";
    ::chmod(credentials.c_str(), 0600);
    auto password = m_dir.path() / "password";
    std::ofstream(password) << k_test_password << "\n";
    ::chmod(password.c_str(), 0600);
    auto config = m_dir.path() / "dbkeeper.toml";
    std::ofstream out(config);
    out << "[agent]\nrepository = \"" << local_root().string() << "\"\n"
        << "[[repository]]\nname = \"offsite\"\ndriver = \"s3\"\nendpoint = \"" << s3_server().endpoint()
        << "\"\nbucket = \"" << m_bucket << "\"\nprefix = \"db1\"\ncredentials_file = \"" << credentials.string()
        << "\"\npart_size_mib = 5\n"
        << "[[target]]\nname = \"" << target.name << "\"\nengine = \"" << target.engine << "\"\nport = " << target.port
        << "\nuser = \"" << k_test_user << "\"\npassword_file = \"" << password.string() << "\"\ndatabases = [\""
        << target.databases.front() << "\"]\nrepositories = [\"offsite\"]\n"
        << extra_target_lines;
    return config;
  }

  // Files the local repository holds for the target that are backup data
  // (not locks, state or records).
  std::vector<std::string> local_backup_files() const {
    std::vector<std::string> found;
    auto directory = local_root() / "shop";
    if (!std::filesystem::exists(directory)) return found;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(directory)) {
      if (!entry.is_regular_file()) continue;
      auto name = entry.path().filename().string();
      if (name.ends_with(".zst") || name.starts_with("manifest") || name.ends_with(".dat") || name.ends_with(".gz") ||
          entry.path().string().find(".staging-") != std::string::npos ||
          entry.path().string().find(".upload-") != std::string::npos)
        found.push_back(entry.path().string());
    }
    return found;
  }

  std::size_t open_uploads() const {
    auto response = S3Client(s3_server().settings(m_bucket))
                        .send(S3Request{.query = {{"uploads", ""}}, .operation = "list uploads"});
    return xml_elements(response.body, "Upload", false).size();
  }

  TempDir m_dir;
  std::string m_bucket;
  std::shared_ptr<Storage> m_store;
};

TEST_F(PrimaryStoreTest, a_mariadb_chain_is_made_in_the_store_and_lists_verifies_and_restores_from_it) {
  create_mariadb_fixture("primary_source");
  Target target = mariadb_target({"primary_source"});
  auto config = write_config(target);
  auto full = run_dbkeeper({"backup", target.name, "--type", "full", "--config", config.string()});
  ASSERT_EQ(full.status.code, 0) << full.stderr_text;
  servers().mariadb.admin().execute(
      "INSERT INTO primary_source.customers (id, name) VALUES (1001, 'after the full backup')");
  auto incremental = run_dbkeeper({"backup", target.name, "--type", "incremental", "--config", config.string()});
  ASSERT_EQ(incremental.status.code, 0) << incremental.stderr_text;
  EXPECT_NE(incremental.stdout_text.find("incremental backup"), std::string::npos) << incremental.stdout_text;

  EXPECT_EQ(list_copied_backups(*m_store, target.name).size(), 2u);
  EXPECT_EQ(local_backup_files(), std::vector<std::string>{}) << "backup data was written to the local disk";

  auto listed = run_dbkeeper({"list", target.name, "--json", "--config", config.string()});
  ASSERT_EQ(listed.status.code, 0) << listed.stderr_text;
  auto backups = nlohmann::json::parse(listed.stdout_text);
  ASSERT_EQ(backups.size(), 2u) << listed.stdout_text;
  EXPECT_EQ(backups[1]["type"], "incremental");
  EXPECT_EQ(backups[1]["parent"], backups[0]["id"]);

  auto verified = run_dbkeeper({"verify", target.name, "--restore", "--config", config.string()});
  ASSERT_EQ(verified.status.code, 0) << verified.stderr_text;
  EXPECT_NE(verified.stdout_text.find("verifying the backup in repository 'offsite'"), std::string::npos)
      << verified.stdout_text;
  EXPECT_NE(verified.stdout_text.find("with its chain"), std::string::npos) << verified.stdout_text;
  // The record is in the store, beside the backup it speaks of.
  auto record = m_store->stat(target.name + "/backups/" + backups[1]["id"].get<std::string>() + "/verification.json");
  ASSERT_TRUE(record.has_value());
  listed = run_dbkeeper({"list", target.name, "--json", "--config", config.string()});
  EXPECT_EQ(nlohmann::json::parse(listed.stdout_text)[1]["verification"], "passed") << listed.stdout_text;

  auto source = mariadb_content("primary_source");
  auto restored = run_dbkeeper(
      {"restore", target.name, "--backup", "latest", "--to-db", "primary_restored", "--config", config.string()});
  ASSERT_EQ(restored.status.code, 0) << restored.stderr_text;
  EXPECT_NE(restored.stdout_text.find("through 1 incremental backup(s)"), std::string::npos) << restored.stdout_text;
  EXPECT_EQ(mariadb_content("primary_restored"), source);
  servers().mariadb.admin().execute("DROP DATABASE primary_restored");
  EXPECT_EQ(local_backup_files(), std::vector<std::string>{}) << "a staging directory was left behind";
}

TEST_F(PrimaryStoreTest, postgres_backups_encrypted_or_in_directory_format_restore_from_the_store_alone) {
  create_postgres_fixture("primary_billing");
  Target target = postgres_target({"primary_billing"});
  auto key = m_dir.path() / "backup.key";
  std::ofstream(key) << "an-encryption-key-of-enough-length-for-dbkeeper-tests-0123456789\n";
  ::chmod(key.c_str(), 0600);
  auto config = write_config(target, "[target.backup]\nencryption_key_file = \"" + key.string() + "\"\n");
  // First, before encryption is on (a later unkeyed backup is refused as
  // tampering): pg_dump's own files, written locally first, then stored file by file.
  auto parallel_config = m_dir.path() / "parallel.toml";
  std::filesystem::copy_file(write_config(target, "[target.backup]\nparallel = 2\n"), parallel_config);
  config = write_config(target, "[target.backup]\nencryption_key_file = \"" + key.string() + "\"\n");
  auto parallel = run_dbkeeper({"backup", target.name, "--type", "full", "--config", parallel_config.string()});
  ASSERT_EQ(parallel.status.code, 0) << parallel.stderr_text;
  bool directory_files = false;
  for (const auto& object : m_store->list(target.name + "/backups/"))
    directory_files = directory_files || object.key.find(".pgdir/") != std::string::npos;
  EXPECT_TRUE(directory_files) << "no file of the directory-format artifact is in the store";
  EXPECT_EQ(local_backup_files(), std::vector<std::string>{});

  auto encrypted = run_dbkeeper({"backup", target.name, "--type", "full", "--config", config.string()});
  ASSERT_EQ(encrypted.status.code, 0) << encrypted.stderr_text;
  EXPECT_TRUE(m_store->stat(target.name + "/encryption.json").has_value()) << "the store cannot authenticate alone";
  for (const auto& object : m_store->list(target.name + "/backups/")) {
    if (!object.key.ends_with(".zst")) continue;
    EXPECT_EQ(read_object(*m_store, object.key).find("customers"), std::string::npos) << object.key;
  }

  auto source = postgres_content("primary_billing");
  auto backups = list_copied_backups(*m_store, target.name);
  ASSERT_EQ(backups.size(), 2u);
  // The database host is gone: a new one has the configuration and the key.
  std::filesystem::remove_all(local_root());
  config = write_config(target, "[target.backup]\nencryption_key_file = \"" + key.string() + "\"\n");
  for (const auto& [backup, name] : {std::pair{backups[0].manifest.id, std::string("primary_billing_directory")},
                                     std::pair{backups[1].manifest.id, std::string("primary_billing_encrypted")}}) {
    auto restored =
        run_dbkeeper({"restore", target.name, "--backup", backup, "--to-db", name, "--config", config.string()});
    ASSERT_EQ(restored.status.code, 0) << restored.stderr_text;
    EXPECT_EQ(postgres_content(name), source) << name;
    servers().postgres.admin().execute("DROP DATABASE " + name);
  }
}

TEST_F(PrimaryStoreTest, a_store_that_dies_mid_backup_leaves_no_backup_and_the_next_one_succeeds) {
  create_mariadb_fixture("primary_dying");
  // Enough data for a multipart upload of 5 MiB parts.
  auto admin = servers().mariadb.admin();
  admin.execute("CREATE TABLE primary_dying.payload (id INT PRIMARY KEY, body TEXT)");
  admin.execute(
      "INSERT INTO primary_dying.payload SELECT seq, CONCAT(SHA2(CONCAT('a', seq), 512), SHA2(CONCAT('b', seq), 512), "
      "SHA2(CONCAT('c', seq), 512)) FROM primary_dying.seq_1_to_120000");
  Target target = mariadb_target({"primary_dying"});
  auto s3 = s3_server().settings(m_bucket, "db1");
  s3.name = "offsite";
  s3.max_attempts = 2;
  StorageSettings settings{"s3", {}, s3};
  std::shared_ptr<Storage> store = open_storage(settings);
  {
    auto dying = repository_with(std::make_shared<DyingStore>(*store, 6 * 1024 * 1024));
    try {
      run_full_backup(target, dying, CompressionSettings{});
      ADD_FAILURE() << "a backup whose store died succeeded";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("offsite"), std::string::npos)
          << "the repository is not named: " << e.what();
    }
  }
  bool was_running = s3_server().gateway_running();
  s3_server().start_gateway();
  EXPECT_FALSE(was_running);
  EXPECT_GE(open_uploads(), 1u) << "the dead store was expected to keep the upload it could not abort";
  auto repository = repository_with(store);
  EXPECT_TRUE(repository.list(target.name).empty()) << "a backup the store died under is listed";
  for (const auto& object : store->list(target.name + "/backups/"))
    EXPECT_FALSE(object.key.ends_with("/manifest.json")) << object.key;
  EXPECT_EQ(repository.read_state(target.name).backups["full"].failure, 1u);

  auto report = run_full_backup(target, repository, CompressionSettings{});
  EXPECT_EQ(open_uploads(), 0u) << "the abandoned multipart upload is still open";
  auto listed = repository.list(target.name);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed.front().manifest.id, report.manifest.id);
  // Only the complete backup's objects are left.
  for (const auto& object : store->list(target.name + "/backups/"))
    EXPECT_TRUE(object.key.find("/" + report.manifest.id + "/") != std::string::npos) << object.key;
  admin.execute("DROP TABLE primary_dying.payload");
}

TEST_F(PrimaryStoreTest, a_point_in_time_restore_runs_from_the_store_with_the_local_disk_gone) {
  create_mariadb_fixture("primary_pitr");
  Target target = mariadb_target({"primary_pitr"});
  target.schedule.continuous_log = true;
  target.primary_repository = "offsite";
  auto repository = repository_with(m_store);
  run_full_backup(target, repository, CompressionSettings{});
  auto admin = servers().mariadb.admin();
  admin.execute("INSERT INTO primary_pitr.customers (id, name) VALUES (1001, 'kept')");
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  auto until = std::chrono::system_clock::now();
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  admin.execute("INSERT INTO primary_pitr.customers (id, name) VALUES (1002, 'after the point in time')");
  run_log_archive(target, repository, CompressionSettings{});
  // The log segments reach the store through the copy job, as for any repository.
  ASSERT_EQ(copy_destinations(target), std::vector<std::string>{"offsite"});
  auto report = copy_target(repository, target.name, *m_store, "offsite");
  EXPECT_GE(report.segments_copied, 1u);
  EXPECT_EQ(report.backups_copied, 0u) << "the backups are made there";

  auto config = write_config(target, "[target.schedule]\nlog = \"continuous\"\n");
  std::filesystem::remove_all(local_root());
  auto restored = run_dbkeeper({"restore", target.name, "--backup", "latest", "--to-db", "primary_pitr_restored",
                                "--until", format_utc(until), "--config", config.string()});
  ASSERT_EQ(restored.status.code, 0) << restored.stderr_text;
  auto rows =
      admin.query("SELECT name FROM primary_pitr_restored.customers WHERE name IN ('kept', 'after the point in time')");
  ASSERT_EQ(rows.rows.size(), 1u);
  EXPECT_EQ(*rows.rows[0][0], "kept");
  admin.execute("DROP DATABASE primary_pitr_restored");
}

TEST_F(PrimaryStoreTest, retention_deletes_from_the_store_and_the_collector_reads_each_manifest_once) {
  create_mariadb_fixture("primary_retention");
  Target target = mariadb_target({"primary_retention"});
  target.retention.full_count = 1;
  auto repository = repository_with(m_store);
  auto older = run_full_backup(target, repository, CompressionSettings{}).manifest.id;
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // ids are seconds
  auto newer = run_full_backup(target, repository, CompressionSettings{}).manifest.id;
  auto decisions = prune_target(target, repository, std::chrono::system_clock::now(), false);
  ASSERT_FALSE(decisions.empty());
  EXPECT_TRUE(m_store->list(target.name + "/backups/" + older + "/").empty()) << "the pruned backup's objects remain";
  auto kept = list_copied_backups(*m_store, target.name);
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept.front().manifest.id, newer);

  // A new process's repository: nothing read yet.
  auto shared = std::make_shared<const Repository>(repository_with(m_store));
  auto collector = make_backup_collector(CollectorContext{&target, shared, nullptr, CollectorSettings{}, {}});
  auto requests = [] { return s3_request_counts()["offsite"].requests; };
  auto before = requests();
  collector->refresh();
  auto first = requests() - before;
  collector->refresh();
  auto second = requests() - before - first;
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, collector->collect());
  EXPECT_EQ(sample_value(out.str(), R"(dbkeeper_repository_backups{target="shop",type="full"})"), 1) << out.str();
  EXPECT_GT(sample_value(out.str(), R"(dbkeeper_backup_last_success_timestamp_seconds{target="shop",type="full"})")
                .value_or(0),
            0)
      << out.str();
  // A second refresh lists the store again (its backups, their sizes) but
  // reads no manifest again.
  EXPECT_LT(second, first);
  EXPECT_LE(second, 2u);
}

TEST_F(PrimaryStoreTest, copies_of_backups_made_in_the_store_are_read_from_it_and_restore_alone) {
  create_mariadb_fixture("primary_copied");
  Target target = mariadb_target({"primary_copied"});
  target.primary_repository = "offsite";
  target.copies_to = {"second"};
  auto repository = repository_with(m_store);
  auto made = run_full_backup(target, repository, CompressionSettings{}).manifest.id;
  StorageSettings directory;
  directory.driver = "posix";
  directory.path = m_dir.path() / "second";
  std::shared_ptr<Storage> second = open_storage(directory);
  ASSERT_EQ(copy_destinations(target), (std::vector<std::string>{"offsite", "second"}));
  auto report = copy_target(repository, target.name, *second, "second");
  EXPECT_EQ(report.backups_copied, 1u);
  auto copies = list_copied_backups(*second, target.name);
  ASSERT_EQ(copies.size(), 1u);
  EXPECT_EQ(copies.front().manifest.id, made);
  EXPECT_FALSE(second->stat(target.name + "/backups/" + made + "/.attempt")) << "the attempt marker was copied";
  EXPECT_EQ(copy_target(repository, target.name, *second, "second").bytes_sent, 0u) << "sent again";

  auto source = mariadb_content("primary_copied");
  Repository from_copy(local_root(), {{target.name, BackupStore{"second", second}}});
  RestoreRequest request;
  request.to_database = "primary_copied_restored";
  restore_backup(target, from_copy, request);
  EXPECT_EQ(mariadb_content("primary_copied_restored"), source);
  servers().mariadb.admin().execute("DROP DATABASE primary_copied_restored");
}

TEST_F(PrimaryStoreTest, the_agent_backs_up_into_the_store_on_schedule_and_labels_the_series_with_it) {
  create_mariadb_fixture("primary_daemon");
  Target target = mariadb_target({"primary_daemon"});
  unsigned port = free_low_port();
  auto config = write_config(target, "[target.schedule]\nfull = \"* * * * *\"\n");
  {
    std::ifstream in(config);
    std::stringstream content;
    content << in.rdbuf();
    std::string text = content.str();
    text.replace(text.find("[agent]\n"), 8,
                 "[collectors.backup]\ninterval = \"2s\"\n[agent]\nlisten_address = \"127.0.0.1:" +
                     std::to_string(port) + "\"\n");
    std::ofstream(config) << text;
  }
  AgentProcess agent(config, port);
  ASSERT_TRUE(eventually([&] { return !list_copied_backups(*m_store, target.name).empty(); }, 90s)) << agent.log();
  std::string series = R"(dbkeeper_repository_backups{target="shop",type="full",repository="offsite"})";
  ASSERT_TRUE(eventually([&] { return sample_value(http_get(port, "/metrics").body, series).value_or(0) >= 1; }, 30s))
      << http_get(port, "/metrics").body;
  EXPECT_EQ(local_backup_files(), std::vector<std::string>{}) << "the agent wrote backup data locally";
}

}  // namespace
}  // namespace dbkeeper
