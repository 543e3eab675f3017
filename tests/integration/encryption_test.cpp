// Encrypted repositories against the real servers: with encryption_key_file
// every artifact and archived binlog is stored as AES-256-GCM ciphertext,
// verification and restores read it back with the key, and without the key
// (or with another one) nothing is restored and the cause is named.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>
#include <thread>

#include "backup/backup_job.h"
#include "backup/engine.h"
#include "backup/log_archive_job.h"
#include "backup/restore_job.h"
#include "backup/verify_job.h"
#include "core/error.h"
#include "core/temp_dir.h"
#include "tests/support/agent_process.h"
#include "tests/support/backup_fixture.h"
#include "tests/support/test_servers.h"

namespace dbkeeper {
namespace {

using namespace std::chrono_literals;
using namespace testing;

const Secret k_key("T2xkIGtleSBmb3IgdGhlIGVuY3J5cHRpb24gdGVzdHMgb25seQ==");
const Secret k_other_key("QW5vdGhlciBrZXksIHRoYXQgd3JvdGUgbm90aGluZyBoZXJl");

std::string head_of(const std::filesystem::path& file, std::size_t bytes = 8) {
  std::ifstream in(file, std::ios::binary);
  std::string head(bytes, '\0');
  in.read(head.data(), static_cast<std::streamsize>(bytes));
  return head;
}

struct EncryptedEngine {
  std::string name;
  Target (*target)(const std::vector<std::string>&);
  void (*create_fixture)(const std::string&);
  std::map<std::string, std::string> (*content)(const std::string&);
};

void PrintTo(const EncryptedEngine& engine, std::ostream* out) {
  *out << engine.name;
}

class EncryptionTest : public ::testing::TestWithParam<EncryptedEngine> {
 protected:
  TempDir m_dir;
  Repository m_repository{m_dir.path()};
};

TEST_P(EncryptionTest, stores_ciphertext_and_restores_and_verifies_only_with_the_key) {
  const auto& engine = GetParam();
  engine.create_fixture("fixture_sealed");
  Target target = engine.target({"fixture_sealed"});
  auto server = create_engine(target.engine);
  for (const char* name : {"fixture_unsealed", "fixture_keyless"}) server->drop_database(target, name);
  target.backup.encryption_key = k_key;
  auto report = run_full_backup(target, m_repository, CompressionSettings{});
  ASSERT_FALSE(report.manifest.artifacts.empty());
  for (const auto& artifact : report.manifest.artifacts) {
    EXPECT_EQ(artifact.encryption, "aes-256-gcm") << artifact.name;
    EXPECT_EQ(head_of(report.directory / artifact.name), "DBKENC01") << artifact.name;
    EXPECT_EQ(artifact.stored_bytes, std::filesystem::file_size(report.directory / artifact.name));
  }
  // The manifest says so, for whoever reads the repository later.
  EXPECT_EQ(m_repository.find(target.name, "latest").manifest.artifacts.front().encryption, "aes-256-gcm");

  auto verified = verify_backup(target, m_repository, "latest", true);
  EXPECT_TRUE(verified.passed) << verified.reason;
  restore_backup(target, m_repository, RestoreRequest{"latest", "fixture_unsealed", "", false});
  EXPECT_EQ(engine.content("fixture_unsealed"), engine.content("fixture_sealed"));

  // Without the key: refused before anything is created, naming the setting.
  Target keyless = target;
  keyless.backup.encryption_key.reset();
  try {
    restore_backup(keyless, m_repository, RestoreRequest{"latest", "fixture_keyless", "", false});
    FAIL() << "an encrypted backup was restored without its key";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::config);
    EXPECT_NE(std::string(e.what()).find("encryption_key_file"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(server->database_exists(target, "fixture_keyless"));

  // Another key: verification fails and says why; the backup is not damaged.
  Target other = target;
  other.backup.encryption_key = k_other_key;
  auto wrong = verify_backup(other, m_repository, "latest", false);
  EXPECT_FALSE(wrong.passed);
  EXPECT_NE(wrong.reason.find("different key"), std::string::npos) << wrong.reason;
  EXPECT_TRUE(verify_backup(target, m_repository, "latest", false).passed);
}

TEST_P(EncryptionTest, after_a_key_change_older_backups_are_read_with_the_previous_key) {
  const auto& engine = GetParam();
  engine.create_fixture("fixture_rotated");
  Target target = engine.target({"fixture_rotated"});
  target.backup.encryption_key = k_other_key;
  auto old_backup = run_full_backup(target, m_repository, CompressionSettings{});
  std::this_thread::sleep_for(1100ms);  // backup ids are one per second
  target.backup.encryption_key = k_key;
  target.backup.previous_encryption_keys = {k_other_key};
  run_full_backup(target, m_repository, CompressionSettings{});
  for (const auto& entry : m_repository.list(target.name)) {
    auto report = verify_backup(target, m_repository, entry.manifest.id, false);
    EXPECT_TRUE(report.passed) << entry.manifest.id << ": " << report.reason;
  }
  // Once the previous key is dropped, the older backup is named as unreadable, the newer one is fine.
  target.backup.previous_encryption_keys.clear();
  auto report = verify_backup(target, m_repository, old_backup.manifest.id, false);
  EXPECT_FALSE(report.passed);
  EXPECT_NE(report.reason.find("different key"), std::string::npos) << report.reason;
  EXPECT_TRUE(verify_backup(target, m_repository, "latest", false).passed);
}

TEST_P(EncryptionTest, a_backup_taken_before_encryption_was_turned_on_stays_readable) {
  const auto& engine = GetParam();
  engine.create_fixture("fixture_plain");
  Target target = engine.target({"fixture_plain"});
  run_full_backup(target, m_repository, CompressionSettings{});
  target.backup.encryption_key = k_key;
  auto verified = verify_backup(target, m_repository, "latest", true);
  EXPECT_TRUE(verified.passed) << verified.reason;
}

// With a key, manifests are authenticated: an artifact swapped for a
// plaintext one and a re-sealed manifest are refused, with or without the
// MAC; a backup from before encryption stays readable.
TEST_P(EncryptionTest, a_forged_manifest_is_refused_and_older_plain_backups_are_still_read) {
  const auto& engine = GetParam();
  engine.create_fixture("fixture_sealed");
  Target target = engine.target({"fixture_sealed"});
  auto plain = run_full_backup(target, m_repository, CompressionSettings{});  // before encryption
  target.backup.encryption_key = k_key;
  auto sealed = run_full_backup(target, m_repository, CompressionSettings{});
  EXPECT_FALSE(sealed.manifest.mac.empty());
  EXPECT_TRUE(verify_backup(target, m_repository, sealed.manifest.id, false).passed);
  EXPECT_TRUE(verify_backup(target, m_repository, plain.manifest.id, false).passed);

  // The forger has the plain backup's artifact (any plaintext dump will do)
  // and write access to the repository, but no key.
  auto forged = sealed.manifest;
  const auto& source = plain.manifest.artifacts.front();
  for (auto& artifact : forged.artifacts) {
    if (artifact.database.empty()) continue;
    std::filesystem::copy_file(plain.directory / source.name, sealed.directory / artifact.name,
                               std::filesystem::copy_options::overwrite_existing);
    artifact = source;
  }
  for (const bool keep_mac : {true, false}) {
    auto manifest = forged;
    if (!keep_mac) manifest.mac.clear();
    auto text = manifest_to_json(manifest);
    for (const char* file : {"manifest.json", "manifest.copy.json"}) std::ofstream(sealed.directory / file) << text;
    auto report = verify_backup(target, m_repository, sealed.manifest.id, false);
    EXPECT_FALSE(report.passed) << "keep_mac " << keep_mac;
    EXPECT_NE(report.reason.find(keep_mac ? "does not match its MAC" : "carries no MAC"), std::string::npos)
        << report.reason;
    EXPECT_THROW(restore_backup(target, m_repository, RestoreRequest{sealed.manifest.id, "forged_copy", "", false}),
                 Error);
    EXPECT_FALSE(create_engine(target.engine)->database_exists(target, "forged_copy"));
  }
  // The backup from before encryption is still read.
  EXPECT_TRUE(verify_backup(target, m_repository, plain.manifest.id, false).passed);
}

INSTANTIATE_TEST_SUITE_P(
    engines, EncryptionTest,
    ::testing::Values(EncryptedEngine{"mariadb", &mariadb_target, &create_mariadb_fixture, &mariadb_content},
                      EncryptedEngine{"postgres", &postgres_target, &create_postgres_fixture, &postgres_content}),
    [](const auto& info) { return info.param.name; });

// From the configuration, as a user runs it.
TEST(EncryptedRepository, the_cli_encrypts_with_the_configured_key_file_and_fails_plainly_without_it) {
  TempDir dir;
  create_mariadb_fixture("sealed_cli");
  servers().mariadb.admin().execute("DROP DATABASE IF EXISTS sealed_cli_copy");
  auto secret_file = [&](const std::string& name, const std::string& content) {
    auto path = dir.path() / name;
    std::ofstream(path) << content << "\n";
    ::chmod(path.c_str(), 0600);
    return path;
  };
  auto password = secret_file("password", k_test_password);
  auto key = secret_file("repository.key", k_key.reveal());
  auto config = [&](bool with_key) {
    auto path = dir.path() / (with_key ? "with_key.toml" : "without_key.toml");
    std::ofstream(path) << "[agent]\nrepository = \"" << (dir.path() / "repository").string() << "\"\n"
                        << "[[target]]\nname = \"shop\"\nengine = \"mariadb\"\nport = " << servers().mariadb.port()
                        << "\nuser = \"" << k_test_user << "\"\npassword_file = \"" << password.string()
                        << "\"\ndatabases = [\"sealed_cli\"]\n"
                        << (with_key ? "[target.backup]\nencryption_key_file = \"" + key.string() + "\"\n" : "");
    return path.string();
  };
  auto checked = run_dbkeeper({"check-config", "--config", config(true)});
  EXPECT_NE(checked.stdout_text.find("encryption   aes-256-gcm"), std::string::npos) << checked.stdout_text;
  EXPECT_EQ(checked.stdout_text.find(k_key.reveal()), std::string::npos);

  auto backup = run_dbkeeper({"backup", "shop", "--type", "full", "--config", config(true)});
  ASSERT_EQ(backup.status.code, 0) << backup.stderr_text;
  EXPECT_NE(backup.stdout_text.find(" stored encrypted, "), std::string::npos) << backup.stdout_text;
  auto listed = run_dbkeeper({"list", "--json", "--config", config(true)});
  ASSERT_EQ(listed.status.code, 0) << listed.stderr_text;
  auto entries = nlohmann::json::parse(listed.stdout_text);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0]["encrypted"], true);
  auto verified = run_dbkeeper({"verify", "shop", "--restore", "--config", config(true)});
  EXPECT_EQ(verified.status.code, 0) << verified.stderr_text;

  auto keyless =
      run_dbkeeper({"restore", "shop", "--backup", "latest", "--to-db", "sealed_cli_copy", "--config", config(false)});
  EXPECT_EQ(keyless.status.code, 1) << keyless.stderr_text;
  EXPECT_NE(keyless.stderr_text.find("encryption_key_file"), std::string::npos) << keyless.stderr_text;
  auto restored =
      run_dbkeeper({"restore", "shop", "--backup", "latest", "--to-db", "sealed_cli_copy", "--config", config(true)});
  EXPECT_EQ(restored.status.code, 0) << restored.stderr_text;
  EXPECT_EQ(mariadb_content("sealed_cli_copy"), mariadb_content("sealed_cli"));
}

TEST(EncryptedLogArchive, archived_binlogs_are_ciphertext_and_a_point_in_time_restore_reads_them) {
  auto admin = servers().mariadb.admin();
  for (const char* database : {"sealed_log", "sealed_log_copy"})
    admin.execute(std::string("DROP DATABASE IF EXISTS ") + database);
  admin.execute("CREATE DATABASE sealed_log");
  admin.execute("CREATE TABLE sealed_log.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(40))");
  admin.execute("INSERT INTO sealed_log.t (v) VALUES ('in the full backup')");
  TempDir dir;
  Repository repository(dir.path());
  Target target = mariadb_target({"sealed_log"});
  target.backup.encryption_key = k_key;
  run_full_backup(target, repository, CompressionSettings{});
  admin.execute("INSERT INTO sealed_log.t (v) VALUES ('only in the binlog')");
  // Replay stops at the start of the asked second: archive from a later one.
  auto next = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now()) + 1s;
  std::this_thread::sleep_until(next + 50ms);
  auto pass = run_log_archive(target, repository, CompressionSettings{});
  ASSERT_FALSE(pass.stored.empty());
  LogArchive archive(repository, target.name);
  for (const auto& segment : archive.segments()) {
    EXPECT_EQ(segment.artifact.encryption, "aes-256-gcm") << segment.name;
    EXPECT_EQ(head_of(archive.directory() / segment.artifact.name), "DBKENC01") << segment.name;
  }

  Target keyless = target;
  keyless.backup.encryption_key.reset();
  EXPECT_THROW(restore_backup(keyless, repository,
                              RestoreRequest{"latest", "sealed_log_copy", "", false, pass.progress.complete_until}),
               Error);
  EXPECT_TRUE(admin.query("SHOW DATABASES LIKE 'sealed_log_copy'").empty());

  restore_backup(target, repository,
                 RestoreRequest{"latest", "sealed_log_copy", "", false, pass.progress.complete_until});
  auto rows = admin.query("SELECT v FROM sealed_log_copy.t ORDER BY id");
  ASSERT_EQ(rows.rows.size(), 2u);
  EXPECT_EQ(rows.rows[1][0].value_or(""), "only in the binlog");
  auto verified = verify_backup(target, repository, "latest", false);
  EXPECT_TRUE(verified.passed) << verified.reason;
  EXPECT_GE(verified.log_segments_checked, 1u);

  // A record rewritten without the key is refused, with its MAC kept or dropped.
  const auto& segment = pass.stored.front();
  auto record_path = archive.directory() / (segment.name + ".json");
  std::string original;
  {
    std::ifstream in(record_path);
    std::stringstream text;
    text << in.rdbuf();
    original = text.str();
  }
  for (const bool keep_mac : {true, false}) {
    auto record = nlohmann::json::parse(original);
    record["closed_before"] = "2099-01-01T00:00:00.000Z";  // as if the segment reached further than it does
    if (!keep_mac) record.erase("mac");
    std::ofstream(record_path) << record.dump(2) << "\n";
    auto report = verify_backup(target, repository, "latest", false);
    EXPECT_FALSE(report.passed) << "keep_mac " << keep_mac;
    EXPECT_NE(report.reason.find(keep_mac ? "does not match its MAC" : "carries no MAC"), std::string::npos)
        << report.reason;
  }
  std::ofstream(record_path) << original;
  EXPECT_TRUE(verify_backup(target, repository, "latest", false).passed);
}

}  // namespace
}  // namespace dbkeeper
