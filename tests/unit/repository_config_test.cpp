#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>

#include "agent/config.h"
#include "core/temp_dir.h"

namespace dbkeeper {
namespace {

class RepositoryConfigTest : public ::testing::Test {
 protected:
  std::filesystem::path write(const std::string& text) {
    auto path = m_dir.path() / "dbkeeper.toml";
    std::ofstream(path) << text;
    return path;
  }
  std::string credentials(const std::string& content, mode_t mode = 0600) {
    auto path = m_dir.path() / "s3.credentials";
    std::ofstream(path) << content;
    ::chmod(path.c_str(), mode);
    return path.string();
  }
  std::string problems(const std::string& text) {
    try {
      load_config(write(text));
      return "";
    } catch (const ConfigInvalid& e) {
      return e.what();
    }
  }
  std::string s3_repository(const std::string& credentials_line, const std::string& extra = "") {
    return "[[repository]]\nname = \"offsite\"\ndriver = \"s3\"\nendpoint = \"https://s3.eu-west-1.amazonaws.com\"\n"
           "bucket = \"acme-backups\"\nregion = \"eu-west-1\"\nprefix = \"db1\"\n" +
           credentials_line + extra;
  }
  TempDir m_dir;
};

constexpr const char* k_target = "[[target]]\nname = \"shop\"\nengine = \"mariadb\"\nuser = \"u\"\n";

TEST_F(RepositoryConfigTest, an_s3_repository_is_read_with_keys_from_a_private_file) {
  auto file = credentials("aws_access_key_id = AKIAEXAMPLE\nsecret_access_key = \"s3cr3t/key\"\n");
  auto config = load_config(write(s3_repository("credentials_file = \"" + file + "\"\n",
                                                "url_style = \"virtual-host\"\npart_size_mib = 32\n"
                                                "[repository.retention]\nfull_count = 30\n") +
                                  k_target + "repositories = [\"local\", \"offsite\"]\n"));
  ASSERT_EQ(config.repositories.size(), 1u);
  const auto& s3 = config.repositories[0].storage.s3;
  EXPECT_EQ(config.repositories[0].storage.driver, "s3");
  EXPECT_EQ(s3.bucket, "acme-backups");
  EXPECT_EQ(s3.region, "eu-west-1");
  EXPECT_EQ(s3.prefix, "db1");
  EXPECT_FALSE(s3.path_style);
  EXPECT_TRUE(s3.verify_tls);
  EXPECT_EQ(s3.part_size, 32u * 1024 * 1024);
  EXPECT_EQ(s3.access_key, "AKIAEXAMPLE");
  EXPECT_EQ(s3.secret_key.reveal(), "s3cr3t/key");
  EXPECT_EQ(config.repositories[0].retention.full_count, 30);
  EXPECT_EQ(config.targets[0].copies_to, (std::vector<std::string>{"offsite"}));
  auto summary = describe_config(config);
  EXPECT_NE(summary.find("repository offsite: s3://acme-backups/db1 at https://s3.eu-west-1.amazonaws.com"),
            std::string::npos)
      << summary;
  EXPECT_NE(summary.find("copies       to offsite"), std::string::npos) << summary;
  EXPECT_EQ(summary.find("s3cr3t"), std::string::npos) << "the secret is printed";
}

TEST_F(RepositoryConfigTest, keys_come_from_the_environment_without_a_file) {
  ::setenv("AWS_ACCESS_KEY_ID", "AKIAENV", 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", "from-env", 1);
  auto config = load_config(write(s3_repository("") + k_target));
  EXPECT_EQ(config.repositories[0].storage.s3.access_key, "AKIAENV");
  ::unsetenv("AWS_ACCESS_KEY_ID");
  ::unsetenv("AWS_SECRET_ACCESS_KEY");
  EXPECT_NE(problems(s3_repository("") + k_target).find("no S3 credentials"), std::string::npos);
}

TEST_F(RepositoryConfigTest, secrets_in_the_config_and_readable_key_files_are_refused) {
  auto inline_secret = problems(s3_repository("secret_access_key = \"abc\"\n") + k_target);
  EXPECT_NE(inline_secret.find("credentials_file (mode 0600), never in the config"), std::string::npos)
      << inline_secret;
  auto readable = credentials("access_key_id = A\nsecret_access_key = B\n", 0644);
  auto open_file = problems(s3_repository("credentials_file = \"" + readable + "\"\n") + k_target);
  EXPECT_NE(open_file.find("chmod 600"), std::string::npos) << open_file;
}

TEST_F(RepositoryConfigTest, a_target_may_make_its_backups_in_another_repository_first) {
  auto file = credentials("access_key_id = A\nsecret_access_key = B\n");
  auto config = load_config(write(s3_repository("credentials_file = \"" + file + "\"\n") +
                                  "[[repository]]\nname = \"second\"\ndriver = \"posix\"\npath = \"" +
                                  (m_dir.path() / "second").string() + "\"\n" + k_target +
                                  "repositories = [\"offsite\", \"second\"]\n"));
  EXPECT_EQ(config.targets[0].primary_repository, "offsite");
  EXPECT_EQ(config.targets[0].copies_to, (std::vector<std::string>{"second"}));
  auto unknown = problems(k_target + std::string("repositories = [\"nowhere\"]\n"));
  EXPECT_NE(unknown.find("no [[repository]] is named \"nowhere\" (none is configured)"), std::string::npos) << unknown;
}

TEST_F(RepositoryConfigTest, a_target_copies_only_to_known_repositories_after_the_local_one) {
  auto file = credentials("access_key_id = A\nsecret_access_key = B\n");
  std::string repository = s3_repository("credentials_file = \"" + file + "\"\n");
  auto unknown = problems(repository + k_target + "repositories = [\"local\", \"elsewhere\"]\n");
  EXPECT_NE(unknown.find("no [[repository]] is named \"elsewhere\" (known: offsite)"), std::string::npos) << unknown;
  auto order = problems(repository + k_target + "repositories = [\"offsite\", \"local\"]\n");
  EXPECT_NE(order.find("\"local\" can only be first"), std::string::npos) << order;
  auto reserved = problems("[[repository]]\nname = \"local\"\ndriver = \"posix\"\npath = \"/srv/second\"\n" +
                           std::string(k_target));
  EXPECT_NE(reserved.find("\"local\" is the repository at [agent] repository"), std::string::npos) << reserved;
  auto bad_endpoint = problems(
      "[[repository]]\nname = \"x\"\ndriver = \"s3\"\nendpoint = \"s3.amazonaws.com\"\n"
      "bucket = \"b\"\ncredentials_file = \"" +
      file + "\"\n" + k_target);
  EXPECT_NE(bad_endpoint.find("must start with https://"), std::string::npos) << bad_endpoint;
}

}  // namespace
}  // namespace dbkeeper
