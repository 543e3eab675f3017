// Drives the real dbkeeper binary as a user does and checks what it prints
// and its exit code: 0 success, 1 failure, 2 usage or configuration error.

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

#include "core/temp_dir.h"
#include "tests/support/agent_process.h"
#include "tests/support/test_servers.h"

namespace dbkeeper {
namespace {

using testing::run_dbkeeper;

class CliTest : public ::testing::Test {
 protected:
  std::string write_config(const std::string& text) {
    auto path = m_dir.path() / "dbkeeper.toml";
    std::ofstream(path) << text;
    return path.string();
  }

  std::string valid_config() {
    return write_config("[agent]\nlisten_address = \"127.0.0.1:" + std::to_string(testing::free_loopback_port()) +
                        "\"\n[[target]]\nname = \"shop\"\nengine = \"mariadb\"\nuser = \"backup\"\n");
  }

  TempDir m_dir;
};

TEST_F(CliTest, prints_the_version) {
  auto result = run_dbkeeper({"--version"});
  EXPECT_EQ(result.status.code, 0);
  EXPECT_TRUE(result.stdout_text.starts_with("dbkeeper 0.1.0 (revision ")) << result.stdout_text;
}

TEST_F(CliTest, without_a_command_prints_usage_and_exits_2) {
  auto result = run_dbkeeper({});
  EXPECT_EQ(result.status.code, 2);
  EXPECT_NE(result.stderr_text.find("usage: dbkeeper COMMAND"), std::string::npos);
}

TEST_F(CliTest, help_lists_every_command) {
  auto result = run_dbkeeper({"--help"});
  EXPECT_EQ(result.status.code, 0);
  for (const char* command : {"run", "check-config", "check", "backup", "list", "verify", "restore", "prune"})
    EXPECT_NE(result.stdout_text.find(std::string("  ") + command + " "), std::string::npos) << command;
}

TEST_F(CliTest, every_command_has_help) {
  for (const char* command : {"run", "check-config", "check", "backup", "list", "verify", "restore", "prune"}) {
    auto result = run_dbkeeper({command, "--help"});
    EXPECT_EQ(result.status.code, 0) << command;
    EXPECT_NE(result.stdout_text.find(std::string("usage: dbkeeper ") + command), std::string::npos) << command;
    EXPECT_NE(result.stdout_text.find("--config"), std::string::npos) << command;
  }
}

TEST_F(CliTest, suggests_a_command_for_a_typo) {
  auto result = run_dbkeeper({"bakup"});
  EXPECT_EQ(result.status.code, 2);
  EXPECT_NE(result.stderr_text.find("unknown command 'bakup'; did you mean 'backup'?"), std::string::npos);
}

TEST_F(CliTest, missing_required_option_is_a_usage_error) {
  auto result = run_dbkeeper({"backup", "shop", "--config", valid_config()});
  EXPECT_EQ(result.status.code, 2);
  EXPECT_NE(result.stderr_text.find("the option '--type' is required but missing"), std::string::npos)
      << result.stderr_text;
}

TEST_F(CliTest, unknown_option_is_a_usage_error) {
  auto result = run_dbkeeper({"list", "--jsn", "--config", valid_config()});
  EXPECT_EQ(result.status.code, 2);
  EXPECT_NE(result.stderr_text.find("jsn"), std::string::npos) << result.stderr_text;
}

TEST_F(CliTest, unknown_target_is_a_usage_error) {
  auto result = run_dbkeeper({"backup", "shpo", "--type", "full", "--config", valid_config()});
  EXPECT_EQ(result.status.code, 2);
  EXPECT_NE(result.stderr_text.find("target 'shpo' is not configured"), std::string::npos) << result.stderr_text;
  EXPECT_NE(result.stderr_text.find("did you mean 'shop'?"), std::string::npos) << result.stderr_text;
}

TEST_F(CliTest, unknown_backup_type_is_a_usage_error) {
  auto result = run_dbkeeper({"backup", "shop", "--type", "differential", "--config", valid_config()});
  EXPECT_EQ(result.status.code, 2);
  EXPECT_NE(result.stderr_text.find("--type must be one of full, incremental, log, not 'differential'"),
            std::string::npos)
      << result.stderr_text;
}

TEST_F(CliTest, incremental_backups_of_postgres_are_refused_with_the_reason_and_nothing_counted) {
  auto repository = m_dir.path() / "repository";
  auto config = write_config("[agent]\nrepository = \"" + repository.string() +
                             "\"\n[[target]]\nname = \"billing\"\nengine = \"postgres\"\nuser = \"backup\"\n");
  auto result = run_dbkeeper({"backup", "billing", "--type", "incremental", "--config", config});
  EXPECT_EQ(result.status.code, 1);
  EXPECT_NE(result.stderr_text.find("PostgreSQL's full backups are logical"), std::string::npos) << result.stderr_text;
  EXPECT_FALSE(std::filesystem::exists(repository / "billing" / "state.json"));
}

TEST_F(CliTest, restore_until_names_a_bad_time_as_a_usage_error) {
  auto result = run_dbkeeper({"restore", "shop", "--backup", "latest", "--to-db", "copy", "--until", "last tuesday",
                              "--config", valid_config()});
  EXPECT_EQ(result.status.code, 2);
  EXPECT_NE(result.stderr_text.find("'last tuesday' is not a point in time"), std::string::npos) << result.stderr_text;
}

TEST_F(CliTest, restore_until_without_backups_says_there_is_nothing_to_start_from) {
  auto config = write_config("[agent]\nrepository = \"" + (m_dir.path() / "repository").string() +
                             "\"\n[[target]]\nname = \"shop\"\nengine = \"mariadb\"\nuser = \"backup\"\n");
  auto result = run_dbkeeper({"restore", "shop", "--backup", "latest", "--to-db", "copy", "--until",
                              "2026-11-25 12:00:00", "--config", config});
  EXPECT_EQ(result.status.code, 1);
  EXPECT_NE(result.stderr_text.find("no full backup"), std::string::npos) << result.stderr_text;
}

TEST_F(CliTest, list_of_an_empty_repository_prints_only_the_header) {
  auto repository = m_dir.path() / "repository";
  auto config = write_config("[agent]\nrepository = \"" + repository.string() +
                             "\"\n[[target]]\nname = \"shop\"\nengine = \"mariadb\"\nuser = \"backup\"\n");
  auto result = run_dbkeeper({"list", "--config", config});
  EXPECT_EQ(result.status.code, 0) << result.stderr_text;
  EXPECT_TRUE(result.stdout_text.starts_with("TARGET ")) << result.stdout_text;
  EXPECT_EQ(std::count(result.stdout_text.begin(), result.stdout_text.end(), '\n'), 1);
  result = run_dbkeeper({"list", "--json", "--config", config});
  EXPECT_EQ(result.stdout_text, "[]\n");
}

TEST_F(CliTest, verify_and_restore_without_backups_fail_with_1) {
  auto repository = m_dir.path() / "repository";
  auto config = write_config("[agent]\nrepository = \"" + repository.string() +
                             "\"\n[[target]]\nname = \"shop\"\nengine = \"mariadb\"\nuser = \"backup\"\n");
  auto verify = run_dbkeeper({"verify", "shop", "--config", config});
  EXPECT_EQ(verify.status.code, 1);
  EXPECT_NE(verify.stderr_text.find("target 'shop' has no complete backup"), std::string::npos) << verify.stderr_text;
  auto restore = run_dbkeeper({"restore", "shop", "--backup", "latest", "--to-db", "x", "--config", config});
  EXPECT_EQ(restore.status.code, 1);
  EXPECT_NE(restore.stderr_text.find("target 'shop' has no complete backup"), std::string::npos);
}

TEST_F(CliTest, check_config_prints_a_summary) {
  auto result = run_dbkeeper({"check-config", "--config", valid_config()});
  EXPECT_EQ(result.status.code, 0) << result.stderr_text;
  EXPECT_NE(result.stdout_text.find("is valid"), std::string::npos);
  EXPECT_NE(result.stdout_text.find("shop: mariadb at 127.0.0.1:3306 as backup"), std::string::npos)
      << result.stdout_text;
}

TEST_F(CliTest, check_config_exits_2_naming_file_line_and_key) {
  auto path = write_config("[[target]]\nname = \"shop\"\nengine = \"mariadb\"\nuser = \"backup\"\nprot = 3306\n");
  auto result = run_dbkeeper({"check-config", "--config", path});
  EXPECT_EQ(result.status.code, 2);
  EXPECT_NE(result.stderr_text.find(path + ":5:1: target[0].prot: unknown key; did you mean \"port\"?"),
            std::string::npos)
      << result.stderr_text;
  EXPECT_NE(result.stderr_text.find("configuration is invalid (1 problem)"), std::string::npos);
}

TEST_F(CliTest, a_missing_config_file_exits_2) {
  auto result = run_dbkeeper({"check-config", "--config", "/nonexistent/dbkeeper.toml"});
  EXPECT_EQ(result.status.code, 2);
  EXPECT_NE(result.stderr_text.find("/nonexistent/dbkeeper.toml: configuration file does not exist"),
            std::string::npos);
}

TEST_F(CliTest, an_unreadable_password_file_exits_2) {
  // Root reads anything, so read as an unprivileged user when we are root.
  ::chmod(m_dir.path().c_str(), 0755);
  auto password = m_dir.path() / "password";
  std::ofstream(password) << "hunter2\n";
  ::chmod(password.c_str(), ::geteuid() == 0 ? 0600 : 0000);
  auto config =
      write_config("[[target]]\nname = \"shop\"\nengine = \"mariadb\"\nuser = \"backup\"\npassword_file = \"" +
                   password.string() + "\"\n");
  ::chmod(config.c_str(), 0644);
  std::vector<std::string> argv;
  if (::geteuid() == 0) argv = {"setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"};
  argv.insert(argv.end(), {testing::dbkeeper_binary().string(), "check-config", "--config", config});
  auto result = run_process(ProcessSpec{.argv = argv});
  EXPECT_EQ(result.status.code, 2);
  EXPECT_NE(result.stderr_text.find(config + ":5:17: target[0].password_file: cannot read '" + password.string() +
                                    "': Permission denied"),
            std::string::npos)
      << result.stderr_text;
}

TEST_F(CliTest, bad_log_level_option_exits_2) {
  auto result = run_dbkeeper({"check-config", "--config", valid_config(), "--log-level", "loud"});
  EXPECT_EQ(result.status.code, 2);
  EXPECT_NE(result.stderr_text.find("unknown log level 'loud'"), std::string::npos) << result.stderr_text;
}

TEST_F(CliTest, run_fails_with_1_when_it_cannot_listen) {
  auto port = testing::free_loopback_port();
  auto config = write_config("[agent]\nlisten_address = \"127.0.0.1:" + std::to_string(port) +
                             "\"\n[[target]]\nname = \"shop\"\nengine = \"mariadb\"\nuser = \"backup\"\n");
  testing::AgentProcess first(config, port);
  auto result = run_dbkeeper({"run", "--config", config});
  EXPECT_EQ(result.status.code, 1);
  EXPECT_NE(result.stderr_text.find("unable to listen on 127.0.0.1:" + std::to_string(port)), std::string::npos)
      << result.stderr_text;
}

TEST_F(CliTest, check_names_a_server_it_cannot_reach_and_exits_1) {
  auto repository = m_dir.path() / "repository";
  auto config = write_config("[agent]\nrepository = \"" + repository.string() +
                             "\"\n[[target]]\nname = \"shop\"\nengine = \"mariadb\"\nport = " +
                             std::to_string(testing::free_loopback_port()) + "\nuser = \"backup\"\n");
  auto text = run_dbkeeper({"check", "--config", config});
  EXPECT_EQ(text.status.code, 1) << text.stdout_text << text.stderr_text;
  EXPECT_NE(text.stdout_text.find("shop         connect          FAIL: "), std::string::npos) << text.stdout_text;
  EXPECT_NE(text.stdout_text.find("shop         repository       ok: "), std::string::npos) << text.stdout_text;

  auto json = run_dbkeeper({"check", "shop", "--json", "--config", config});
  EXPECT_EQ(json.status.code, 1);
  EXPECT_NE(json.stdout_text.find("\"check\": \"connect\""), std::string::npos) << json.stdout_text;
  EXPECT_NE(json.stdout_text.find("\"ok\": false"), std::string::npos) << json.stdout_text;

  EXPECT_EQ(run_dbkeeper({"check", "nosuch", "--config", config}).status.code, 2);
}

}  // namespace
}  // namespace dbkeeper
