// Copies in an S3 repository (radosgw): the copy job sends every complete
// backup and log segment, resumes and catches up after an outage, and the
// copy alone restores, for both engines, encrypted or not, with the local
// repository gone.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "backup/backup_job.h"
#include "backup/log_archive_job.h"
#include "backup/repository_copy.h"
#include "backup/repository_fetch.h"
#include "backup/storage/s3_client.h"
#include "core/temp_dir.h"
#include "core/unique_fd.h"
#include "tests/support/agent_process.h"
#include "tests/support/backup_fixture.h"
#include "tests/support/http_get.h"
#include "tests/support/s3_server.h"
#include "tests/support/test_servers.h"

namespace dbkeeper {
namespace {

using namespace testing;
using namespace std::chrono_literals;

class RepositoryCopyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static int counter = 0;
    m_bucket = "dbkeeper-copies-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
    S3Client(s3_server().settings(m_bucket)).send(S3Request{.method = "PUT", .operation = "create bucket"});
    StorageSettings settings;
    settings.driver = "s3";
    settings.s3 = s3_server().settings(m_bucket, "db1");
    m_store = open_storage(settings);
  }

  std::filesystem::path local_root() const { return m_dir.path() / "repository"; }

  // A configuration whose target copies to the bucket, with the keys in a 0600 file.
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
        << "\"\n"
        << "[[target]]\nname = \"" << target.name << "\"\nengine = \"" << target.engine << "\"\nport = " << target.port
        << "\nuser = \"" << k_test_user << "\"\npassword_file = \"" << password.string() << "\"\ndatabases = [\""
        << target.databases.front() << "\"]\nrepositories = [\"local\", \"offsite\"]\n"
        << extra_target_lines;
    return config;
  }

  TempDir m_dir;
  std::string m_bucket;
  std::unique_ptr<Storage> m_store;
};

TEST_F(RepositoryCopyTest, a_mariadb_chain_is_copied_once_and_restores_from_the_copy_alone) {
  create_mariadb_fixture("copy_source");
  Target target = mariadb_target({"copy_source"});
  Repository local(local_root());
  run_full_backup(target, local, CompressionSettings{});
  auto config = write_config(target);
  auto copied = run_dbkeeper({"copy", target.name, "--config", config.string()});
  ASSERT_EQ(copied.status.code, 0) << copied.stderr_text;
  servers().mariadb.admin().execute(
      "INSERT INTO copy_source.customers (id, name) VALUES (1001, 'after the full backup')");
  run_incremental_backup(target, local, CompressionSettings{});

  auto first = copy_target(local, target.name, *m_store, "offsite");
  EXPECT_EQ(first.backups_copied, 1u) << "only the incremental was new";
  auto again = copy_target(local, target.name, *m_store, "offsite");
  EXPECT_EQ(again.backups_copied, 0u);
  EXPECT_EQ(again.bytes_sent, 0u) << "a second pass sent data again";
  ASSERT_EQ(list_copied_backups(*m_store, target.name).size(), 2u);
  auto status = read_copy_status(local, target.name, "offsite");
  EXPECT_TRUE(status.last_success.has_value());
  EXPECT_FALSE(status.oldest_pending.has_value());

  // The database host is gone: only the copy is left.
  auto source = mariadb_content("copy_source");
  std::filesystem::remove_all(local_root());
  auto restored = run_dbkeeper(
      {"restore", target.name, "--backup", "latest", "--to-db", "copy_restored", "--config", config.string()});
  ASSERT_EQ(restored.status.code, 0) << restored.stderr_text;
  EXPECT_NE(restored.stderr_text.find("repository 'local' cannot serve this restore"), std::string::npos)
      << restored.stderr_text;
  EXPECT_NE(restored.stdout_text.find("restored from repository 'offsite'"), std::string::npos) << restored.stdout_text;
  EXPECT_NE(restored.stdout_text.find("through 1 incremental backup(s)"), std::string::npos) << restored.stdout_text;
  EXPECT_EQ(mariadb_content("copy_restored"), source);
  servers().mariadb.admin().execute("DROP DATABASE copy_restored");

  auto listed = run_dbkeeper({"list", target.name, "--repository", "offsite", "--config", config.string()});
  EXPECT_EQ(listed.status.code, 0) << listed.stderr_text;
  EXPECT_NE(listed.stdout_text.find("incremental"), std::string::npos) << listed.stdout_text;
}

TEST_F(RepositoryCopyTest, an_encrypted_postgres_backup_restores_and_verifies_from_the_copy) {
  create_postgres_fixture("copy_billing");
  Target target = postgres_target({"copy_billing"});
  auto key = m_dir.path() / "backup.key";
  std::ofstream(key) << "an-encryption-key-of-enough-length-for-dbkeeper-tests-0123456789\n";
  ::chmod(key.c_str(), 0600);
  auto config = write_config(target, "[target.backup]\nencryption_key_file = \"" + key.string() + "\"\n");
  auto backup = run_dbkeeper({"backup", target.name, "--type", "full", "--config", config.string()});
  ASSERT_EQ(backup.status.code, 0) << backup.stderr_text;
  auto copied = run_dbkeeper({"copy", "--config", config.string()});
  ASSERT_EQ(copied.status.code, 0) << copied.stderr_text;
  // The store holds ciphertext: no table name in the clear.
  for (const auto& object : m_store->list(target.name + "/backups/")) {
    if (!object.key.ends_with(".zst")) continue;
    EXPECT_EQ(read_object(*m_store, object.key).find("customers"), std::string::npos) << object.key;
  }

  auto verified =
      run_dbkeeper({"verify", target.name, "--restore", "--repository", "offsite", "--config", config.string()});
  EXPECT_EQ(verified.status.code, 0) << verified.stderr_text;
  EXPECT_NE(verified.stdout_text.find("verifying the copy in repository 'offsite'"), std::string::npos);

  auto source = postgres_content("copy_billing");
  std::filesystem::remove_all(local_root());
  auto restored = run_dbkeeper({"restore", target.name, "--backup", "latest", "--to-db", "copy_billing_restored",
                                "--repository", "offsite", "--config", config.string()});
  ASSERT_EQ(restored.status.code, 0) << restored.stderr_text;
  EXPECT_EQ(postgres_content("copy_billing_restored"), source);
  servers().postgres.admin().execute("DROP DATABASE copy_billing_restored");
}

TEST_F(RepositoryCopyTest, a_copy_catches_up_after_the_store_was_down) {
  create_mariadb_fixture("copy_outage");
  Target target = mariadb_target({"copy_outage"});
  Repository local(local_root());
  run_full_backup(target, local, CompressionSettings{});
  s3_server().stop_gateway();
  EXPECT_THROW(copy_target(local, target.name, *m_store, "offsite"), Error);
  auto status = read_copy_status(local, target.name, "offsite");
  EXPECT_EQ(status.failures_total, 1u);
  EXPECT_TRUE(status.oldest_pending.has_value()) << "a failed pass must say what is pending";
  EXPECT_FALSE(status.last_success.has_value());
  s3_server().start_gateway();
  auto report = copy_target(local, target.name, *m_store, "offsite");
  EXPECT_EQ(report.backups_copied, 1u);
  status = read_copy_status(local, target.name, "offsite");
  EXPECT_TRUE(status.last_success.has_value());
  EXPECT_FALSE(status.oldest_pending.has_value());
  EXPECT_EQ(list_copied_backups(*m_store, target.name).size(), 1u);
}

TEST_F(RepositoryCopyTest, archived_binary_logs_are_copied_and_a_point_in_time_restore_runs_from_the_copy) {
  create_mariadb_fixture("copy_pitr");
  Target target = mariadb_target({"copy_pitr"});
  target.schedule.continuous_log = true;
  Repository local(local_root());
  run_full_backup(target, local, CompressionSettings{});
  auto admin = servers().mariadb.admin();
  admin.execute("INSERT INTO copy_pitr.customers (id, name) VALUES (1001, 'kept')");
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  auto until = std::chrono::system_clock::now();
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  admin.execute("INSERT INTO copy_pitr.customers (id, name) VALUES (1002, 'after the point in time')");
  run_log_archive(target, local, CompressionSettings{});
  auto report = copy_target(local, target.name, *m_store, "offsite");
  EXPECT_GE(report.segments_copied, 1u);

  auto config = write_config(target, "[target.schedule]\nlog = \"continuous\"\n");
  std::filesystem::remove_all(local_root());
  auto restored = run_dbkeeper({"restore", target.name, "--backup", "latest", "--to-db", "copy_pitr_restored",
                                "--until", format_utc(until), "--repository", "offsite", "--config", config.string()});
  ASSERT_EQ(restored.status.code, 0) << restored.stderr_text;
  auto rows =
      admin.query("SELECT name FROM copy_pitr_restored.customers WHERE name IN ('kept', 'after the point in time')");
  ASSERT_EQ(rows.rows.size(), 1u);
  EXPECT_EQ(*rows.rows[0][0], "kept");
  admin.execute("DROP DATABASE copy_pitr_restored");
}

TEST_F(RepositoryCopyTest, retention_is_per_repository_and_deletes_from_the_store_exactly_what_it_decided) {
  create_mariadb_fixture("copy_retention");
  Target target = mariadb_target({"copy_retention"});
  Repository local(local_root());
  run_full_backup(target, local, CompressionSettings{});
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // ids are seconds
  run_full_backup(target, local, CompressionSettings{});
  copy_target(local, target.name, *m_store, "offsite");
  auto copies = list_copied_backups(*m_store, target.name);
  ASSERT_EQ(copies.size(), 2u);
  std::string older = copies.front().manifest.id, newer = copies.back().manifest.id;
  auto others_before = m_store->list(target.name + "/backups/" + newer + "/").size();

  auto config = write_config(target);
  std::ofstream(config, std::ios::app) << "[target.retention]\nfull_count = 5\n";
  // The offsite copy keeps one full backup; the local repository keeps five.
  std::string text;
  {
    std::ifstream in(config);
    std::stringstream content;
    content << in.rdbuf();
    text = content.str();
  }
  text.replace(text.find("[[target]]"), 10, "[repository.retention]\nfull_count = 1\n[[target]]");
  std::ofstream(config) << text;
  auto dry = run_dbkeeper({"prune", target.name, "--dry-run", "--config", config.string()});
  ASSERT_EQ(dry.status.code, 0) << dry.stderr_text;
  EXPECT_NE(dry.stdout_text.find(older + "   would delete"), std::string::npos) << dry.stdout_text;
  EXPECT_EQ(list_copied_backups(*m_store, target.name).size(), 2u) << "a dry run deleted";
  auto pruned = run_dbkeeper({"prune", target.name, "--config", config.string()});
  ASSERT_EQ(pruned.status.code, 0) << pruned.stderr_text;
  EXPECT_NE(pruned.stdout_text.find("(in offsite)"), std::string::npos) << pruned.stdout_text;

  copies = list_copied_backups(*m_store, target.name);
  ASSERT_EQ(copies.size(), 1u);
  EXPECT_EQ(copies.front().manifest.id, newer);
  EXPECT_TRUE(m_store->list(target.name + "/backups/" + older + "/").empty()) << "objects of the deleted copy remain";
  EXPECT_EQ(m_store->list(target.name + "/backups/" + newer + "/").size(), others_before);
  EXPECT_EQ(local.list(target.name).size(), 2u) << "the local repository keeps its own";
  // The next copy does not send the pruned one again.
  auto report = copy_target(local, target.name, *m_store, "offsite");
  EXPECT_EQ(report.bytes_sent, 0u);
  EXPECT_EQ(list_copied_backups(*m_store, target.name).size(), 1u);
}

TEST_F(RepositoryCopyTest, the_agent_copies_on_its_own_and_exports_the_lag_and_store_requests) {
  create_mariadb_fixture("copy_daemon");
  Target target = mariadb_target({"copy_daemon"});
  Repository local(local_root());
  run_full_backup(target, local, CompressionSettings{});  // taken before the agent runs: pending at its start
  unsigned port = free_low_port();
  auto config = write_config(target);
  {
    std::ofstream(config, std::ios::app) << "";
    std::ifstream in(config);
    std::stringstream content;
    content << in.rdbuf();
    std::string text = content.str();
    text.replace(text.find("[agent]\n"), 8, "[agent]\nlisten_address = \"127.0.0.1:" + std::to_string(port) + "\"\n");
    std::ofstream(config) << text;
  }
  AgentProcess agent(config, port);
  auto exposition = [&] { return http_get(port, "/metrics").body; };
  std::string lag_series = R"(dbkeeper_repository_copy_lag_seconds{target="shop",repository="offsite"})";
  ASSERT_TRUE(eventually([&] { return list_copied_backups(*m_store, target.name).size() == 1; }, 60s)) << agent.log();
  // The copies collector refreshes every minute; its first pass ran at start.
  ASSERT_TRUE(eventually([&] { return sample_value(exposition(), lag_series).has_value(); }, 90s))
      << exposition() << agent.log();
  auto body = exposition();
  EXPECT_GT(sample_value(body, R"(dbkeeper_storage_requests_total{repository="offsite"})").value_or(0), 0) << body;
  EXPECT_GT(sample_value(body, R"(dbkeeper_storage_upload_bytes_total{repository="offsite"})").value_or(0), 0) << body;
  EXPECT_EQ(body.find(k_s3_secret_key), std::string::npos) << "the secret is in /metrics";
  EXPECT_EQ(agent.log().find(k_s3_secret_key), std::string::npos) << "the secret is in the log";

  auto input = m_dir.path() / "metrics.txt";
  auto check = ChildProcess::start(
      ProcessSpec{.argv = {find_program("promtool").string(), "check", "metrics"}, .stdin_pipe = true});
  {
    UniqueFd stdin_fd = check.take_stdin();
    write_all(stdin_fd.get(), body.data(), body.size(), "promtool stdin");
  }
  auto status = check.wait();
  EXPECT_TRUE(status.success()) << check.stderr_text() << "\n" << body;
}

TEST_F(RepositoryCopyTest, an_upload_the_store_died_under_is_aborted_by_the_next_copy) {
  auto open_uploads = [&] {
    auto response = S3Client(s3_server().settings(m_bucket))
                        .send(S3Request{.query = {{"uploads", ""}}, .operation = "list uploads"});
    return xml_elements(response.body, "Upload", false).size();
  };
  create_mariadb_fixture("copy_abandoned");
  Target target = mariadb_target({"copy_abandoned"});
  Repository local(local_root());
  run_full_backup(target, local, CompressionSettings{});
  {
    // A copy in the middle of a large artifact when the store goes away:
    // its abort cannot reach the store either.
    auto writer = m_store->create(target.name + "/backups/in-flight/big.zst");
    std::string part(6 * 1024 * 1024, 'x');
    writer->write(std::as_bytes(std::span(part.data(), part.size())));
    EXPECT_EQ(open_uploads(), 1u);
    s3_server().stop_gateway();
  }
  s3_server().start_gateway();
  EXPECT_EQ(open_uploads(), 1u) << "the abandoned upload is expected to be left open";
  copy_target(local, target.name, *m_store, "offsite");
  EXPECT_EQ(open_uploads(), 0u) << "the next copy left the abandoned upload open";
  EXPECT_EQ(list_copied_backups(*m_store, target.name).size(), 1u);
}

TEST_F(RepositoryCopyTest, check_proves_each_copy_repository_writable_with_its_credentials) {
  create_mariadb_fixture("copy_check");
  Target target = mariadb_target({"copy_check"});
  auto config = write_config(target);
  auto good = run_dbkeeper({"check", target.name, "--config", config.string()});
  EXPECT_NE(good.stdout_text.find("repository-offsite ok: 'offsite' (s3://" + m_bucket + "/db1"), std::string::npos)
      << good.stdout_text << good.stderr_text;
  EXPECT_TRUE(m_store->list("").empty()) << "check left its probe behind";
  std::ofstream(m_dir.path() / "s3.credentials")
      << "access_key_id = " << k_s3_access_key << "\nsecret_access_key = wrong\n";
  auto bad = run_dbkeeper({"check", target.name, "--config", config.string()});
  EXPECT_EQ(bad.status.code, 1);
  EXPECT_NE(bad.stdout_text.find("repository-offsite FAIL"), std::string::npos) << bad.stdout_text;
  EXPECT_NE(bad.stdout_text.find("SignatureDoesNotMatch"), std::string::npos) << bad.stdout_text;
  EXPECT_EQ(bad.stdout_text.find("wrong"), std::string::npos) << "the secret is printed";
}

}  // namespace
}  // namespace dbkeeper
