// Point-in-time restore under load, end to end: a writer inserts and
// updates rows continuously while the agent archives every second and full backups are
// taken in between; then restores to moments spread over that time must
// each hold exactly the rows committed before the moment's second.
//
// MariaDB's NOW() is the statement's start, which is also the timestamp of
// its binlog events, so "created < the moment's second" is the truth to
// compare with.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <fstream>
#include <random>
#include <thread>

#include "backup/backup_job.h"
#include "backup/restore_job.h"
#include "core/temp_dir.h"
#include "tests/support/agent_process.h"
#include "tests/support/backup_fixture.h"
#include "tests/support/test_servers.h"

namespace dbkeeper {
namespace {

using namespace std::chrono_literals;
using namespace testing;

TEST(point_in_time_soak, every_moment_under_continuous_writes_restores_exactly) {
  auto admin = servers().mariadb.admin();
  admin.execute("DROP DATABASE IF EXISTS soak");
  admin.execute("CREATE DATABASE soak");
  admin.execute(
      "CREATE TABLE soak.t (id INT AUTO_INCREMENT PRIMARY KEY, created DATETIME(6) NOT NULL, "
      "note VARCHAR(40), changed DATETIME(6))");
  TempDir dir;
  Repository repository(dir.path() / "repository");
  Target target = mariadb_target({"soak"});
  target.name = "soak";
  run_full_backup(target, repository, CompressionSettings{});
  auto first_full_end = repository.list("soak").back().manifest.finished_at;

  auto password = dir.path() / "password";
  std::ofstream(password) << k_test_password << "\n";
  ::chmod(password.c_str(), 0600);
  auto port = free_loopback_port();
  auto config = dir.path() / "dbkeeper.toml";
  std::ofstream(config) << "[agent]\nlisten_address = \"127.0.0.1:" << port << "\"\nrepository = \""
                        << (dir.path() / "repository").string() << "\"\n[[target]]\nname = \"soak\"\n"
                        << "engine = \"mariadb\"\nport = " << servers().mariadb.port() << "\nuser = \"" << k_test_user
                        << "\"\npassword_file = \"" << password.string() << "\"\ndatabases = [\"soak\"]\n"
                        << "[target.schedule]\nlog = \"continuous\"\n[target.backup]\nlog_archive_interval = \"1s\"\n";
  AgentProcess agent(config, port);

  std::atomic<bool> writing = true;
  std::string writer_error;
  std::thread writer([&] {
    try {
      auto options = servers().mariadb.user_options();
      options.database = "soak";
      auto connection = MysqlConnection::connect(options);
      for (int i = 0; writing; ++i) {
        connection.execute("INSERT INTO t (created, note) VALUES (NOW(6), 'row')");
        if (i % 7 == 0)
          connection.execute("UPDATE t SET note = 'changed', changed = NOW(6) WHERE id = " + std::to_string(i / 2 + 1));
        std::this_thread::sleep_for(15ms);
      }
    } catch (const std::exception& e) {
      writer_error = e.what();  // a throw here would end the whole test binary
    }
  });
  std::this_thread::sleep_for(6s);
  run_full_backup(target, repository, CompressionSettings{});  // a second base, mid-stream
  std::this_thread::sleep_for(6s);
  writing = false;
  writer.join();
  ASSERT_EQ(writer_error, "");
  auto writes_ended = std::chrono::system_clock::now();
  LogArchive archive(repository, "soak");
  ASSERT_TRUE(eventually(
      [&] {
        auto progress = archive.progress();
        return progress && progress->complete_until > writes_ended + 1s;
      },
      15s))
      << agent.log();

  std::mt19937 random(20261125);
  auto span = std::chrono::duration_cast<std::chrono::milliseconds>(writes_ended - first_full_end - 1s).count();
  for (int i = 0; i < 6; ++i) {
    auto moment = first_full_end + 1s + std::chrono::milliseconds(random() % span);
    auto name = "soak_at_" + std::to_string(i);
    admin.execute("DROP DATABASE IF EXISTS " + name);
    restore_backup(target, repository, RestoreRequest{"latest", name, "", false, moment});
    auto second = format_utc(std::chrono::time_point_cast<std::chrono::seconds>(moment)).substr(0, 19);
    second[10] = ' ';
    auto expected = admin.query(
        "SELECT COUNT(*), COALESCE(MAX(id), 0), COALESCE(SUM(id), 0) FROM soak.t WHERE "
        "created < '" +
        second + "'");
    auto restored = admin.query("SELECT COUNT(*), COALESCE(MAX(id), 0), COALESCE(SUM(id), 0) FROM " + name + ".t");
    EXPECT_EQ(restored.rows, expected.rows) << "restore to " << format_utc(moment);
    admin.execute("DROP DATABASE " + name);
  }
}

}  // namespace
}  // namespace dbkeeper
