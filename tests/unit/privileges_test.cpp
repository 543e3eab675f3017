#include "backup/privileges.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace dbkeeper {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The test servers' users are made from the same table (tests/support), so
// this keeps docs, `check` and the tests' grants one list.
TEST(Privileges, DocsCarryTheGeneratedTables) {
  std::string docs = read_file(DBKEEPER_SOURCE_DIR "/docs/privileges.md");
  std::string begin = "<!-- generated from backup/privileges.cpp: begin -->\n";
  std::string end = "<!-- generated from backup/privileges.cpp: end -->";
  auto from = docs.find(begin);
  auto to = docs.find(end);
  ASSERT_NE(from, std::string::npos) << "docs/privileges.md has no generated section";
  ASSERT_NE(to, std::string::npos);
  EXPECT_EQ(docs.substr(from + begin.size(), to - from - begin.size()), privileges_markdown())
      << "docs/privileges.md differs from backup/privileges.cpp; the section between the markers must read:\n"
      << privileges_markdown();
}

TEST(Privileges, BackupOnlyNeedsNoWritePrivilege) {
  auto statements = grant_statements("mysql", {Job::backup}, "bk", "%");
  ASSERT_EQ(statements.size(), 1u);
  EXPECT_EQ(statements[0], "GRANT SELECT, SHOW VIEW, TRIGGER, EVENT, EXECUTE, BINLOG MONITOR ON *.* TO 'bk'@'%';");
}

TEST(Privileges, PostgresSplitsAttributesFromMemberships) {
  auto statements = grant_statements("postgres", {Job::backup, Job::restore}, "bk");
  ASSERT_EQ(statements.size(), 2u);
  EXPECT_EQ(statements[0], "ALTER ROLE \"bk\" LOGIN BYPASSRLS CREATEDB;");
  EXPECT_EQ(statements[1], "GRANT pg_read_all_data, pg_signal_backend TO \"bk\";");
}

TEST(Privileges, ScheduledJobsDecideWhatIsNeeded) {
  Target target;
  target.engine = "mariadb";
  auto plain = privileges_for("mysql", jobs_of(target));
  auto has = [](const std::vector<const Privilege*>& list, std::string_view name) {
    for (const auto* p : list)
      if (p->name == name) return true;
    return false;
  };
  EXPECT_FALSE(has(plain, "BINLOG REPLAY"));
  EXPECT_TRUE(has(plain, "SET USER"));  // restores are always possible
  target.schedule.continuous_log = true;
  auto logging = privileges_for("mysql", jobs_of(target));
  EXPECT_TRUE(has(logging, "BINLOG REPLAY"));
  EXPECT_TRUE(has(logging, "REPLICATION SLAVE"));
}

}  // namespace
}  // namespace dbkeeper
