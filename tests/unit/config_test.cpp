#include "agent/config.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "core/temp_dir.h"

namespace dbkeeper {
namespace {

using namespace std::chrono_literals;

class ConfigTest : public ::testing::Test {
 protected:
  std::filesystem::path write(const std::string& text, const std::string& name = "dbkeeper.toml") {
    auto path = m_dir.path() / name;
    std::ofstream(path) << text;
    return path;
  }

  std::filesystem::path password_file(const std::string& content = "hunter2\n", mode_t mode = 0600) {
    auto path = m_dir.path() / "password";
    std::ofstream(path) << content;
    ::chmod(path.c_str(), mode);
    return path;
  }

  // The problems reported for `text`, joined by newlines; "" when valid.
  std::string problems(const std::string& text) {
    try {
      load_config(write(text));
      return "";
    } catch (const ConfigInvalid& e) {
      EXPECT_EQ(e.kind(), ErrorKind::config);
      return e.what();
    }
  }

  std::string file() const { return (m_dir.path() / "dbkeeper.toml").string(); }

  TempDir m_dir;
};

constexpr const char* k_minimal_target = R"(
[[target]]
name = "shop"
engine = "mariadb"
user = "backup"
)";

TEST_F(ConfigTest, reads_a_complete_configuration) {
  auto password = password_file("s3cret\n");
  auto config = load_config(write(R"(
[agent]
listen_address = "127.0.0.1:9999"
repository = "/srv/backups"
log_level = "debug"
log_format = "json"

[collectors.up]
interval = "5s"
timeout = "2s"

[[target]]
name = "shop"
engine = "mariadb"
host = "db1.internal"
user = "backup"
password_file = ")" + password.string() +
                                  R"("
databases = ["shop", "crm"]
connect_timeout = "3s"

[target.schedule]
full = "0 4 * * 0"
incremental = "0 * * * *"
log = "continuous"
verify = "30 5 * * 0"

[target.retention]
full_count = 5
max_age = "30d"

[target.queries]
slow_threshold = "250ms"
top_n = 20

[[target.migrations]]
database = "shop"
framework = "laravel"
path = "/srv/shop/database/migrations"

[[target]]
name = "billing"
engine = "postgres"
socket = "/run/postgresql/.s.PGSQL.5433"
user = "postgres"
)"));
  EXPECT_EQ(config.agent.listen_address, "127.0.0.1:9999");
  EXPECT_EQ(config.agent.repository, "/srv/backups");
  EXPECT_EQ(config.agent.log_format, "json");
  EXPECT_EQ(config.collectors.at("up").interval, 5s);
  EXPECT_EQ(config.collectors.at("up").timeout, 2s);
  ASSERT_EQ(config.targets.size(), 2u);

  const Target& shop = config.targets[0];
  EXPECT_EQ(shop.name, "shop");
  EXPECT_EQ(shop.engine, "mariadb");
  EXPECT_EQ(shop.host, "db1.internal");
  EXPECT_EQ(shop.port, 3306u);
  EXPECT_EQ(shop.password.reveal(), "s3cret");
  EXPECT_EQ(shop.databases, (std::vector<std::string>{"shop", "crm"}));
  EXPECT_EQ(shop.connect_timeout, 3s);
  EXPECT_EQ(shop.schedule.full, "0 4 * * 0");
  EXPECT_TRUE(shop.schedule.continuous_log);
  EXPECT_EQ(shop.retention.full_count, 5);
  EXPECT_EQ(shop.retention.max_age, std::chrono::duration_cast<Duration>(30 * 24h));
  EXPECT_EQ(shop.queries.slow_threshold, 250ms);
  EXPECT_EQ(shop.queries.top_n, 20);
  ASSERT_EQ(shop.migrations.size(), 1u);
  EXPECT_EQ(shop.migrations[0].framework, "laravel");

  const Target& billing = config.targets[1];
  EXPECT_EQ(billing.socket, "/run/postgresql");
  EXPECT_EQ(billing.port, 5433u);
  EXPECT_TRUE(billing.password.empty());
}

TEST_F(ConfigTest, applies_defaults) {
  auto config = load_config(write(k_minimal_target));
  EXPECT_EQ(config.agent.listen_address, "127.0.0.1:9745");
  EXPECT_EQ(config.agent.repository, "/var/lib/dbkeeper");
  EXPECT_EQ(config.targets[0].host, "127.0.0.1");
  EXPECT_EQ(config.targets[0].port, 3306u);
  EXPECT_EQ(config.targets[0].connect_timeout, 5s);
  EXPECT_TRUE(config.collectors.at("up").enabled);
}

TEST_F(ConfigTest, postgres_defaults_to_port_5432) {
  auto config = load_config(write("[[target]]\nname = \"pg\"\nengine = \"postgres\"\nuser = \"u\"\n"));
  EXPECT_EQ(config.targets[0].port, 5432u);
}

TEST_F(ConfigTest, reports_syntax_errors_with_line_and_column) {
  EXPECT_EQ(problems("[agent\nlisten_address = 1\n"),
            file() + ":1:7: syntax error: Error while parsing table header: expected ']', saw '\\n'");
}

TEST_F(ConfigTest, rejects_unknown_keys_with_a_suggestion) {
  auto text = problems(std::string("[agent]\nlisten_adress = \"127.0.0.1:1\"\n") + k_minimal_target);
  EXPECT_EQ(text, file() + ":2:1: agent.listen_adress: unknown key; did you mean \"listen_address\"?");
}

TEST_F(ConfigTest, rejects_unknown_keys_without_a_far_fetched_suggestion) {
  auto text = problems(std::string(k_minimal_target) + "compression_level = 3\n");
  EXPECT_EQ(text, file() + ":6:1: target[0].compression_level: unknown key");
}

TEST_F(ConfigTest, rejects_unknown_top_level_tables) {
  auto text = problems(std::string(k_minimal_target) + "[agnet]\nrepository = \"/x\"\n");
  EXPECT_NE(text.find(file() + ":6:2: agnet: unknown key; did you mean \"agent\"?"), std::string::npos) << text;
}

TEST_F(ConfigTest, rejects_wrong_types) {
  auto text = problems(std::string(k_minimal_target) + "port = \"3306\"\ndatabases = \"shop\"\n");
  EXPECT_NE(text.find(file() + ":6:8: target[0].port: expected an integer, found string"), std::string::npos) << text;
  EXPECT_NE(text.find(file() + ":7:13: target[0].databases: expected an array of strings, found string"),
            std::string::npos)
      << text;
}

TEST_F(ConfigTest, rejects_out_of_range_integers) {
  auto text = problems(std::string(k_minimal_target) + "port = 70000\n");
  EXPECT_EQ(text, file() + ":6:8: target[0].port: expected an integer from 1 to 65535, found 70000");
}

TEST_F(ConfigTest, rejects_missing_required_keys_at_the_table) {
  auto text = problems("[[target]]\nname = \"shop\"\nengine = \"mariadb\"\n");
  EXPECT_EQ(text, file() + ":1:1: target[0].user: required key is missing");
}

TEST_F(ConfigTest, rejects_a_configuration_without_targets) {
  EXPECT_NE(problems("[agent]\n").find("target: no [[target]] is configured"), std::string::npos);
}

TEST_F(ConfigTest, rejects_unknown_engines) {
  auto text = problems("[[target]]\nname = \"shop\"\nengine = \"maria\"\nuser = \"u\"\n");
  EXPECT_EQ(text, file() +
                      ":3:10: target[0].engine: unknown value \"maria\" (expected one of: mysql, mariadb, postgres); "
                      "did you mean \"mariadb\"?");
}

TEST_F(ConfigTest, rejects_duplicate_target_names) {
  auto text = problems(std::string(k_minimal_target) + k_minimal_target);
  EXPECT_EQ(text, file() + ":8:8: target[1].name: duplicate target name \"shop\" (also used by target[0])");
}

TEST_F(ConfigTest, rejects_invalid_target_names) {
  auto text = problems("[[target]]\nname = \"../etc\"\nengine = \"mariadb\"\nuser = \"u\"\n");
  EXPECT_NE(text.find(":2:8: target[0].name: \"../etc\" is not a valid target name"), std::string::npos) << text;
}

TEST_F(ConfigTest, rejects_a_password_in_the_file) {
  auto text = problems(std::string(k_minimal_target) + "password = \"hunter2\"\n");
  EXPECT_NE(text.find(":6:1: target[0].password: unknown key: passwords are not accepted in the configuration file"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("hunter2"), std::string::npos) << "the message repeats the password";
}

TEST_F(ConfigTest, rejects_a_missing_password_file) {
  auto text = problems(std::string(k_minimal_target) + "password_file = \"/nonexistent/pw\"\n");
  EXPECT_EQ(text, file() + ":6:17: target[0].password_file: cannot use '/nonexistent/pw': No such file or directory");
}

TEST_F(ConfigTest, rejects_a_password_file_others_can_read) {
  auto path = password_file("hunter2\n", 0644);
  auto text = problems(std::string(k_minimal_target) + "password_file = \"" + path.string() + "\"\n");
  EXPECT_EQ(text, file() + ":6:17: target[0].password_file: '" + path.string() +
                      "' is accessible by other users (mode 0644); run: chmod 600 '" + path.string() + "'");
}

TEST_F(ConfigTest, rejects_a_password_file_that_is_a_directory_or_empty) {
  auto text = problems(std::string(k_minimal_target) + "password_file = \"" + m_dir.path().string() + "\"\n");
  EXPECT_NE(text.find("is not a regular file"), std::string::npos) << text;
  auto empty = password_file("", 0600);
  text = problems(std::string(k_minimal_target) + "password_file = \"" + empty.string() + "\"\n");
  EXPECT_NE(text.find("is empty"), std::string::npos) << text;
}

TEST_F(ConfigTest, reads_the_password_from_the_environment) {
  ::setenv("DBKEEPER_TEST_PASSWORD", "from-env", 1);
  auto config = load_config(write(std::string(k_minimal_target) + "password_env = \"DBKEEPER_TEST_PASSWORD\"\n"));
  EXPECT_EQ(config.targets[0].password.reveal(), "from-env");
  ::unsetenv("DBKEEPER_TEST_PASSWORD");
  auto text = problems(std::string(k_minimal_target) + "password_env = \"DBKEEPER_TEST_PASSWORD\"\n");
  EXPECT_EQ(
      text,
      file() + ":6:16: target[0].password_env: environment variable 'DBKEEPER_TEST_PASSWORD' is not set or empty");
}

TEST_F(ConfigTest, rejects_both_password_sources) {
  auto path = password_file();
  auto text =
      problems(std::string(k_minimal_target) + "password_file = \"" + path.string() + "\"\npassword_env = \"X\"\n");
  EXPECT_NE(text.find("target[0].password_env: set either password_file or password_env, not both"), std::string::npos);
}

TEST_F(ConfigTest, rejects_host_and_socket_together) {
  auto text = problems(std::string(k_minimal_target) + "host = \"h\"\nsocket = \"/run/mysqld/mysqld.sock\"\n");
  EXPECT_NE(text.find("target[0].socket: set either host or socket, not both"), std::string::npos) << text;
}

TEST_F(ConfigTest, rejects_invalid_cron_expressions) {
  auto text = problems(std::string(k_minimal_target) + "[target.schedule]\nfull = \"0 25 * * 0\"\n");
  EXPECT_EQ(text, file() +
                      ":7:8: target[0].schedule.full: invalid cron expression \"0 25 * * 0\": hour field "
                      "\"25\": 25 is out of range 0-23");
  text = problems(std::string(k_minimal_target) + "[target.schedule]\nverify = \"every sunday\"\n");
  EXPECT_NE(text.find(":7:10: target[0].schedule.verify: invalid cron expression \"every sunday\": expected 5 fields"),
            std::string::npos)
      << text;
}

TEST_F(ConfigTest, rejects_log_schedules_other_than_continuous) {
  auto text = problems(std::string(k_minimal_target) + "[target.schedule]\nlog = \"hourly\"\n");
  EXPECT_NE(text.find("target[0].schedule.log: unknown value \"hourly\" (expected one of: continuous)"),
            std::string::npos)
      << text;
}

TEST_F(ConfigTest, rejects_continuous_log_archiving_for_postgres) {
  auto text = problems(R"(
[[target]]
name = "billing"
engine = "postgres"
user = "backup"
[target.schedule]
log = "continuous"
)");
  EXPECT_NE(text.find(":7:7: target[0].schedule.log: continuous log archiving is not available for engine "
                      "'postgres': WAL archiving and point-in-time restore need physical base backups"),
            std::string::npos)
      << text;
}

TEST_F(ConfigTest, refuses_an_incremental_schedule_for_postgres_naming_why) {
  auto text = problems(
      "[[target]]\nname = \"billing\"\nengine = \"postgres\"\nuser = \"backup\"\n"
      "[target.schedule]\nincremental = \"0 * * * *\"\n");
  EXPECT_NE(text.find("target[0].schedule.incremental: incremental backups are not available for engine 'postgres'"),
            std::string::npos)
      << text;
  EXPECT_EQ(problems(std::string(k_minimal_target) + "[target.schedule]\nincremental = \"0 * * * *\"\n"), "");
}

TEST_F(ConfigTest, reads_the_log_archive_interval) {
  auto config = load_config(write(std::string(k_minimal_target) +
                                  "[target.schedule]\nlog = \"continuous\"\n[target.backup]\nlog_archive_interval = "
                                  "\"30s\"\n"));
  EXPECT_TRUE(config.targets[0].schedule.continuous_log);
  EXPECT_EQ(config.targets[0].backup.log_archive_interval, std::chrono::seconds(30));
  EXPECT_NE(describe_config(config).find("continuous, archived every 30s"), std::string::npos)
      << describe_config(config);
  EXPECT_EQ(load_config(write(k_minimal_target)).targets[0].backup.log_archive_interval, std::chrono::minutes(1));
}

TEST_F(ConfigTest, rejects_invalid_durations) {
  auto text = problems(std::string(k_minimal_target) + "[target.retention]\nmax_age = \"30 days\"\n");
  EXPECT_NE(text.find(":7:11: target[0].retention.max_age: invalid duration \"30 days\""), std::string::npos) << text;
  text = problems(std::string(k_minimal_target) + "[target.queries]\nslow_threshold = 5\n");
  EXPECT_NE(text.find("target[0].queries.slow_threshold: expected a duration string such as \"90s\", found integer"),
            std::string::npos)
      << text;
}

TEST_F(ConfigTest, rejects_unknown_migration_frameworks_and_missing_paths) {
  auto text =
      problems(std::string(k_minimal_target) + "[[target.migrations]]\ndatabase = \"shop\"\nframework = \"larvel\"\n");
  EXPECT_NE(text.find("target[0].migrations[0].framework: unknown value \"larvel\""), std::string::npos) << text;
  EXPECT_NE(text.find("did you mean \"laravel\"?"), std::string::npos) << text;
  EXPECT_NE(text.find(":6:1: target[0].migrations[0].path: required key is missing"), std::string::npos) << text;
}

TEST_F(ConfigTest, rejects_unknown_collectors_and_bad_intervals) {
  auto text = problems(
      std::string("[collectors.upp]\ninterval = \"5s\"\n[collectors.up]\ninterval = \"2s\"\ntimeout = \"5s\"\n") +
      k_minimal_target);
  EXPECT_NE(text.find(":1:13: collectors.upp: unknown key; did you mean \"up\"?"), std::string::npos) << text;
  EXPECT_NE(text.find("collectors.up.timeout: must not be longer than the interval (2s)"), std::string::npos) << text;
}

TEST_F(ConfigTest, an_unset_collector_timeout_follows_a_short_interval) {
  auto config = load_config(write(std::string("[collectors.up]\ninterval = \"2s\"\n") + k_minimal_target));
  EXPECT_EQ(config.collectors.at("up").interval, 2s);
  EXPECT_EQ(config.collectors.at("up").timeout, 2s);
}

TEST_F(ConfigTest, rejects_bad_listen_addresses) {
  auto text = problems(std::string("[agent]\nlisten_address = \"9745\"\n") + k_minimal_target);
  EXPECT_NE(text.find(":2:18: agent.listen_address: expected \"host:port\""), std::string::npos) << text;
  text = problems(std::string("[agent]\nlisten_address = \"::1:9745\"\n") + k_minimal_target);
  EXPECT_NE(text.find("IPv6 address must be written in brackets"), std::string::npos) << text;
}

TEST_F(ConfigTest, reports_every_problem_in_one_pass) {
  auto text = problems("[agent]\nlog_level = \"loud\"\n[[target]]\nname = \"a\"\nengine = \"oracle\"\n");
  EXPECT_NE(text.find("agent.log_level"), std::string::npos);
  EXPECT_NE(text.find("target[0].engine"), std::string::npos);
  EXPECT_NE(text.find("target[0].user"), std::string::npos);
}

TEST_F(ConfigTest, rejects_a_missing_file) {
  try {
    load_config(m_dir.path() / "absent.toml");
    FAIL();
  } catch (const ConfigInvalid& e) {
    EXPECT_NE(std::string(e.what()).find("absent.toml: configuration file does not exist"), std::string::npos);
  }
}

TEST_F(ConfigTest, reads_an_encryption_key_file_and_never_shows_the_key) {
  auto key = password_file("k3y-0123456789abcdef0123456789abcdef-XYZ\n");
  auto config = load_config(
      write(std::string(k_minimal_target) + "[target.backup]\nencryption_key_file = \"" + key.string() + "\"\n"));
  ASSERT_TRUE(config.targets[0].backup.encryption_key);
  EXPECT_EQ(config.targets[0].backup.encryption_key->reveal(), "k3y-0123456789abcdef0123456789abcdef-XYZ");
  auto summary = describe_config(config);
  EXPECT_NE(summary.find("encryption   aes-256-gcm"), std::string::npos) << summary;
  EXPECT_EQ(summary.find("k3y-"), std::string::npos);
  EXPECT_NE(describe_config(load_config(write(k_minimal_target))).find("encryption   off"), std::string::npos);
}

TEST_F(ConfigTest, reads_previous_encryption_keys_for_reading_only) {
  auto key = password_file(std::string(40, 'n') + "\n");
  auto old_key = m_dir.path() / "old.key";
  std::ofstream(old_key) << std::string(40, 'o') << "\n";
  ::chmod(old_key.c_str(), 0600);
  auto config =
      load_config(write(std::string(k_minimal_target) + "[target.backup]\nencryption_key_file = \"" + key.string() +
                        "\"\nprevious_encryption_key_files = [\"" + old_key.string() + "\"]\n"));
  const auto& backup = config.targets[0].backup;
  ASSERT_EQ(backup.previous_encryption_keys.size(), 1u);
  EXPECT_EQ(backup.previous_encryption_keys[0].reveal(), std::string(40, 'o'));
  auto keys = decryption_keys(config.targets[0]);
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0]->reveal(), std::string(40, 'n'));
  EXPECT_NE(describe_config(config).find("aes-256-gcm, reads with 1 previous key(s)"), std::string::npos);
  std::ofstream(old_key, std::ios::trunc) << "short\n";
  auto text = problems(std::string(k_minimal_target) + "[target.backup]\nprevious_encryption_key_files = [\"" +
                       old_key.string() + "\"]\n");
  EXPECT_NE(text.find("previous_encryption_key_files: '" + old_key.string() + "' holds 5 bytes"), std::string::npos)
      << text;
}

TEST_F(ConfigTest, refuses_a_short_shared_or_parallel_encryption_key) {
  auto key = password_file("too-short\n");
  auto text =
      problems(std::string(k_minimal_target) + "[target.backup]\nencryption_key_file = \"" + key.string() + "\"\n");
  EXPECT_NE(text.find("target[0].backup.encryption_key_file: '" + key.string() +
                      "' holds 9 bytes; an encryption key needs at least 32"),
            std::string::npos)
      << text;
  key = password_file(std::string(40, 'k') + "\n", 0640);
  text = problems(std::string(k_minimal_target) + "[target.backup]\nencryption_key_file = \"" + key.string() + "\"\n");
  EXPECT_NE(text.find("is accessible by other users (mode 0640)"), std::string::npos) << text;
  key = password_file(std::string(40, 'k') + "\n");
  text = problems(std::string(k_minimal_target) + "[target.backup]\nparallel = 4\nencryption_key_file = \"" +
                  key.string() + "\"\n");
  EXPECT_NE(text.find("encryption_key_file: cannot be used with parallel > 1"), std::string::npos) << text;
}

TEST_F(ConfigTest, summary_never_shows_the_password) {
  auto path = password_file("pa55-in-summary\n");
  auto config = load_config(write(std::string(k_minimal_target) + "password_file = \"" + path.string() + "\"\n"));
  auto summary = describe_config(config);
  EXPECT_NE(summary.find("shop: mariadb at 127.0.0.1:3306 as backup, password set"), std::string::npos) << summary;
  EXPECT_EQ(summary.find("pa55-in-summary"), std::string::npos);
}

}  // namespace
}  // namespace dbkeeper

namespace dbkeeper {
namespace {

class RestoreConfigTest : public ::testing::Test {
 protected:
  std::filesystem::path write(const std::string& text) {
    auto path = m_dir.path() / "dbkeeper.toml";
    std::ofstream(path) << text;
    return path;
  }
  std::string problems(const std::string& text) {
    try {
      load_config(write(text));
    } catch (const ConfigInvalid& e) {
      return e.what();
    }
    return "";
  }
  TempDir m_dir;
};

constexpr const char* k_postgres_target = "[[target]]\nname = \"pg\"\nengine = \"postgres\"\nuser = \"u\"\n";

TEST_F(RestoreConfigTest, restore_owner_and_privileges_are_read_for_postgres) {
  auto config = load_config(
      write(std::string(k_postgres_target) + "[target.restore]\nowner = \"restoring-user\"\nprivileges = \"drop\"\n"));
  EXPECT_EQ(config.targets[0].restore.owner, "restoring-user");
  EXPECT_FALSE(config.targets[0].restore.privileges);
  auto defaults = load_config(write(k_postgres_target));
  EXPECT_EQ(defaults.targets[0].restore.owner, "keep");
  EXPECT_TRUE(defaults.targets[0].restore.privileges);
  auto role = load_config(write(std::string(k_postgres_target) + "[target.restore]\nowner = \"app_owner\"\n"));
  EXPECT_EQ(role.targets[0].restore.owner, "app_owner");
  EXPECT_NE(describe_config(role).find("restore      owner app_owner, privileges kept"), std::string::npos)
      << describe_config(role);
}

TEST_F(RestoreConfigTest, restore_settings_are_refused_where_they_cannot_apply) {
  auto text = problems(
      "[[target]]\nname = \"shop\"\nengine = \"mariadb\"\nuser = \"u\"\n[target.restore]\n"
      "owner = \"restoring-user\"\n");
  EXPECT_NE(text.find("target[0].restore.owner: applies to PostgreSQL targets only"), std::string::npos) << text;
  auto bad = problems(std::string(k_postgres_target) + "[target.restore]\nprivileges = \"some\"\n");
  EXPECT_NE(bad.find("target[0].restore.privileges: unknown value \"some\""), std::string::npos) << bad;
}

TEST_F(RestoreConfigTest, verify_into_and_instance_directory_are_read_and_checked) {
  auto defaults = load_config(write(k_postgres_target));
  EXPECT_EQ(defaults.targets[0].verify.into, "auto");
  EXPECT_TRUE(defaults.targets[0].verify.instance_directory.empty());
  auto set = load_config(write(std::string(k_postgres_target) +
                               "[target.verify]\ninto = \"instance\"\ninstance_directory = \"/srv/scratch\"\n"));
  EXPECT_EQ(set.targets[0].verify.into, "instance");
  EXPECT_EQ(set.targets[0].verify.instance_directory, "/srv/scratch");
  EXPECT_NE(describe_config(set).find("verify       into instance, instances under /srv/scratch"), std::string::npos)
      << describe_config(set);
  auto bad = problems(std::string(k_postgres_target) +
                      "[target.verify]\ninto = \"elsewhere\"\ninstance_directory = \"scratch\"\n");
  EXPECT_NE(bad.find("target[0].verify.into: unknown value \"elsewhere\""), std::string::npos) << bad;
  EXPECT_NE(bad.find("target[0].verify.instance_directory: must be an absolute path"), std::string::npos) << bad;
}

}  // namespace
}  // namespace dbkeeper
