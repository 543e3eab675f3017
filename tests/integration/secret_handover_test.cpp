// Passwords reach real client tools through 0600 files, and never show in
// their command line.

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "backup/client_credentials.h"
#include "core/child_process.h"
#include "core/temp_dir.h"
#include "tests/support/test_servers.h"

namespace dbkeeper {
namespace {

using namespace std::chrono_literals;
using testing::servers;

// A password with every character the file formats treat specially.
const Secret k_tricky_password(R"(p"a\s:s #w'o;rd)");

std::string command_line_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline");
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

TEST(secret_handover, mariadb_client_reads_the_password_from_an_option_file) {
  auto admin = servers().mariadb.admin();
  admin.execute("CREATE USER IF NOT EXISTS 'tricky'@'127.0.0.1' IDENTIFIED BY " +
                admin.quote_string(k_tricky_password.reveal()));
  TempDir private_dir;
  auto option_file = write_mysql_option_file(private_dir.path(), k_tricky_password);
  auto client = ChildProcess::start(ProcessSpec{
      .argv = {testing::find_program("mariadb").string(), "--defaults-extra-file=" + option_file.path().string(),
               "--protocol=TCP", "--host=127.0.0.1", "--port=" + std::to_string(servers().mariadb.port()),
               "--user=tricky", "--batch", "--skip-column-names", "-e", "SELECT SLEEP(0.5), CURRENT_USER()"}});
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(command_line_of(client.pid()).find("p\"a"), std::string::npos);
  std::string output;
  char buffer[256];
  for (ssize_t n; (n = ::read(client.stdout_fd(), buffer, sizeof buffer)) > 0;)
    output.append(buffer, static_cast<std::size_t>(n));
  auto status = client.wait();
  EXPECT_TRUE(status.success()) << client.stderr_text();
  EXPECT_EQ(output, "0\ttricky@127.0.0.1\n");
  admin.execute("DROP USER 'tricky'@'127.0.0.1'");
}

TEST(secret_handover, psql_reads_the_password_from_a_pgpass_file) {
  auto admin = servers().postgres.admin();
  admin.execute("DROP ROLE IF EXISTS tricky");
  std::string literal;
  for (char c : k_tricky_password.reveal()) literal += c == '\'' ? std::string("''") : std::string(1, c);
  admin.execute("CREATE ROLE tricky LOGIN PASSWORD '" + literal + "'");
  TempDir private_dir;
  auto pgpass = write_pgpass_file(private_dir.path(), k_tricky_password);
  auto result =
      run_process(ProcessSpec{.argv = {testing::find_program("psql").string(), "--no-psqlrc", "--tuples-only",
                                       "--no-align", "-h", "127.0.0.1", "-p", std::to_string(servers().postgres.port()),
                                       "-U", "tricky", "-d", "postgres", "-c", "SELECT current_user"},
                              .environment = {{"PGPASSFILE", pgpass.path().string()}},
                              .unset_environment = {"PGPASSWORD"}});
  EXPECT_TRUE(result.status.success()) << result.stderr_text;
  EXPECT_EQ(result.stdout_text, "tricky\n");
  admin.execute("DROP ROLE tricky");
}

TEST(secret_handover, a_wrong_password_in_the_file_is_refused) {
  TempDir private_dir;
  auto pgpass = write_pgpass_file(private_dir.path(), Secret("not-the-password"));
  auto result = run_process(ProcessSpec{.argv = {testing::find_program("psql").string(), "--no-psqlrc", "-h",
                                                 "127.0.0.1", "-p", std::to_string(servers().postgres.port()), "-U",
                                                 testing::k_test_user, "-d", "postgres", "-c", "SELECT 1"},
                                        .environment = {{"PGPASSFILE", pgpass.path().string()}}});
  EXPECT_FALSE(result.status.success());
  EXPECT_NE(result.stderr_text.find("password authentication failed"), std::string::npos) << result.stderr_text;
}

}  // namespace
}  // namespace dbkeeper
