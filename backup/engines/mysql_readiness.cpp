#include "backup/engines/mysql_readiness.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include "backup/dump_stream.h"
#include "backup/engines/mysql_client_tools.h"
#include "backup/engines/mysql_engine.h"
#include "backup/privileges.h"
#include "core/error.h"

namespace dbkeeper {
namespace {

std::string join(const std::vector<std::string>& items) {
  std::string text;
  for (const auto& item : items) text += (text.empty() ? "" : ", ") + item;
  return text;
}

// MySQL and older MariaDB spell some of them differently; the server's own
// aliases count as the privilege.
const std::vector<std::pair<std::string, std::string>> k_aliases{{"BINLOG MONITOR", "REPLICATION CLIENT"},
                                                                 {"SLAVE MONITOR", "REPLICATION CLIENT"},
                                                                 {"SET USER", "SET_USER_ID"},
                                                                 {"BINLOG REPLAY", "BINLOG_ADMIN"},
                                                                 {"SLAVE MONITOR", "REPLICATION SLAVE ADMIN"}};

std::pair<std::string, std::string> current_account(MysqlConnection& connection) {
  auto account = connection.query("SELECT CURRENT_USER()").scalar().value_or("");
  auto at = account.rfind('@');
  return {account.substr(0, at), at == std::string::npos ? "%" : account.substr(at + 1)};
}

CheckResult check_privileges(MysqlConnection& connection, const Target& target) {
  auto [user, host] = current_account(connection);
  auto held = global_privileges(connection);
  bool super = held.contains("SUPER");
  auto jobs = jobs_of(target);
  std::vector<std::string> missing;
  std::set<std::string> needed_by;
  for (const auto* privilege : privileges_for("mysql", jobs)) {
    std::string name(privilege->name);
    bool has = held.contains(name);
    for (const auto& [wanted, alias] : k_aliases)
      if (wanted == name && held.contains(alias)) has = true;
    if (has) continue;
    missing.push_back(name);
    for (Job job : privilege->jobs)
      if (std::find(jobs.begin(), jobs.end(), job) != jobs.end()) needed_by.insert(std::string(job_name(job)));
  }
  if (missing.empty())
    return {"privileges", true,
            "'" + user + "'@'" + host + "' holds what " + std::to_string(jobs.size()) + " job(s) need" +
                (super ? " (and SUPER)" : "")};
  std::vector<std::string> jobs_text(needed_by.begin(), needed_by.end());
  return {"privileges", false,
          "'" + user + "'@'" + host + "' lacks " + join(missing) + " (for " + join(jobs_text) + "); run: GRANT " +
              join(missing) + " ON *.* TO " + connection.quote_string(user) + "@" + connection.quote_string(host) +
              "; (docs/privileges.md)"};
}

std::vector<CheckResult> check_binlog(MysqlConnection& connection, const Target& target) {
  auto row = connection
                 .query(
                     "SELECT @@log_bin, @@binlog_format, @@binlog_row_image, @@server_id, "
                     "@@log_bin_trust_function_creators")
                 .rows.at(0);
  bool log_bin = row[0].value_or("0") == "1";
  std::string format = row[1].value_or(""), image = row[2].value_or(""), server_id = row[3].value_or("0");
  bool needs_binlog = target.schedule.continuous_log || !target.schedule.incremental.empty();
  std::vector<CheckResult> results;
  if (!needs_binlog) {
    results.push_back(
        {"binlog", true, std::string(log_bin ? "on" : "off") + " (no log archive or incrementals are scheduled)"});
  } else if (!log_bin) {
    results.push_back({"binlog", false,
                       "the binary log is off, and log archiving or incrementals are scheduled: start the server "
                       "with log_bin (and server_id) in its configuration"});
  } else {
    std::vector<std::string> wrong;
    if (format != "ROW")
      wrong.push_back("binlog_format is " + format + " (SET GLOBAL binlog_format = 'ROW', and in my.cnf)");
    if (image != "FULL")
      wrong.push_back("binlog_row_image is " + image + " (SET GLOBAL binlog_row_image = 'FULL', and in my.cnf)");
    if (server_id == "0") wrong.push_back("server_id is 0 (set a unique server_id in my.cnf)");
    if (wrong.empty())
      results.push_back({"binlog", true, "on, ROW format, FULL row images, server_id " + server_id});
    else
      results.push_back({"binlog", false, join(wrong) + ": replays would miss or misapply changes"});
  }
  if (log_bin) {
    bool trusted = row[4].value_or("0") == "1";
    bool super = global_privileges(connection).contains("SUPER");
    if (trusted || super)
      results.push_back({"stored-programs", true,
                         trusted ? "log_bin_trust_function_creators is ON: restores load triggers and routines"
                                 : "the user has SUPER: restores load triggers and routines"});
    else
      results.push_back({"stored-programs", false,
                         "with the binary log on, restores of databases with triggers or routines fail (ERROR "
                         "1419) unless log_bin_trust_function_creators is ON: SET GLOBAL "
                         "log_bin_trust_function_creators = 1, and set it in my.cnf"});
  }
  return results;
}

// major and minor of "… Ver 10.19 Distrib 10.11.19-MariaDB, …" (MariaDB
// tools: the server series follows "Distrib"), "… Ver 8.0.36 for …"
// (MySQL) or a server's VERSION(); {0, 0} when there is none.
std::pair<int, int> series_of(const std::string& text) {
  std::size_t at = text.find("Distrib ");
  if (at != std::string::npos)
    at += 8;
  else if ((at = text.find("Ver ")) != std::string::npos)
    at += 4;
  else
    at = 0;
  int major = 0, minor = 0;
  if (std::sscanf(text.c_str() + at, "%d.%d", &major, &minor) != 2) return {0, 0};
  return {major, minor};
}

CheckResult check_tools(const Target& target, const std::string& server_version) {
  std::vector<std::string> found, problems;
  std::vector<std::vector<std::string>> tools{{"mariadb-dump", "mysqldump"}, {"mariadb", "mysql"}};
  if (target.schedule.continuous_log || !target.schedule.incremental.empty())
    tools.push_back({"mariadb-binlog", "mysqlbinlog"});
  for (const auto& names : tools) {
    std::optional<std::filesystem::path> tool;
    for (const auto& name : names)
      if (!tool) tool = find_executable(name);
    if (!tool) {
      problems.push_back("neither " + names[0] + " nor " + names[1] + " is installed (install mariadb-client)");
      continue;
    }
    found.push_back(tool->string());
    if (names[0] == "mariadb-dump") {
      auto tool_series = series_of(tool_version(tool->string()));
      auto server_series = series_of(server_version);
      auto text = [](std::pair<int, int> s) { return std::to_string(s.first) + "." + std::to_string(s.second); };
      if (tool_series.first > 0 && server_series.first > 0 && tool_series < server_series)
        problems.push_back(tool->string() + " is from " + text(tool_series) + ", older than the server (" +
                           text(server_series) + "): install the client tools of the server's series");
    }
  }
  if (problems.empty()) return {"tools", true, join(found)};
  return {"tools", false, join(problems)};
}

}  // namespace

std::set<std::string> global_privileges(MysqlConnection& connection) {
  auto [user, host] = current_account(connection);
  std::set<std::string> held;
  // information_schema lists the current account's global privileges, one a row.
  for (const auto& row : connection
                             .query("SELECT privilege_type FROM information_schema.user_privileges WHERE grantee = " +
                                    connection.quote_string("'" + user + "'@'" + host + "'"))
                             .rows)
    held.insert(row[0].value_or(""));
  return held;
}

std::vector<CheckResult> check_mysql_server(const Target& target) {
  std::vector<CheckResult> results;
  std::optional<MysqlConnection> connection;
  std::string version;
  try {
    connection.emplace(MysqlConnection::connect(mysql_connect_options(target)));
    version = connection->query("SELECT VERSION()").scalar().value_or("");
    results.push_back({"connect", true, version});
  } catch (const Error& e) {
    results.push_back({"connect", false, std::string(e.what()) + "; check host, port, user and password"});
    return results;
  }
  try {
    results.push_back(check_privileges(*connection, target));
    for (auto& result : check_binlog(*connection, target)) results.push_back(std::move(result));
    for (const auto& database : target.databases)
      if (connection
              ->query("SELECT 1 FROM information_schema.schemata WHERE schema_name = " +
                      connection->quote_string(database))
              .empty())
        results.push_back({"databases", false, "database '" + database + "' does not exist (or is not visible)"});
  } catch (const Error& e) {
    results.push_back({"server", false, e.what()});
  }
  results.push_back(check_tools(target, version));
  return results;
}

}  // namespace dbkeeper
