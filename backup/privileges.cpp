#include "backup/privileges.h"

#include <algorithm>
#include <array>

#include "core/error.h"

namespace dbkeeper {
namespace {

using enum Job;

constexpr std::array k_jobs{backup,           incremental, log_archive,   verify,
                            verify_on_server, restore,     restore_until, collectors};

// Reading a restore's or verification's input needs what loading a dump
// needs; these are the jobs that load one.
const std::vector<Job> k_loads{verify, restore, restore_until};

std::vector<Job> plus(std::vector<Job> jobs, std::initializer_list<Job> more) {
  jobs.insert(jobs.end(), more);
  return jobs;
}

// MariaDB 10.5+ names; docs/privileges.md says what MySQL calls them.
const std::vector<Privilege> k_mysql{
    {"SELECT",
     false,
     "read every table: the dump, row counts, the object inventory, performance_schema digests",
     {backup, incremental, verify, restore, restore_until, collectors}},
    {"SHOW VIEW", false, "dump and compare view definitions", plus(k_loads, {backup})},
    {"TRIGGER", false, "dump and create triggers", plus(k_loads, {backup})},
    {"EVENT", false, "dump and create events", plus(k_loads, {backup})},
    {"EXECUTE", false, "dump views that call stored functions (the server evaluates them to list the columns)",
     plus(k_loads, {backup})},
    {"BINLOG MONITOR",
     false,
     "the binary log position of each dump and the list of binary logs",
     {backup, incremental, log_archive}},
    {"REPLICATION SLAVE",
     false,
     "read binary logs from the server (mariadb-binlog --read-from-remote-server)",
     {incremental, log_archive}},
    {"RELOAD",
     false,
     "close the active binary log (FLUSH BINARY LOGS) so it can be archived",
     {incremental, log_archive}},
    {"CREATE", false, "create the database restored into and its tables", k_loads},
    {"DROP", false, "drop scratch databases and a restore that failed half-way", k_loads},
    {"ALTER", false, "the dump's ALTER TABLE … DISABLE KEYS", k_loads},
    {"INSERT", false, "load rows and set sequences", k_loads},
    {"LOCK TABLES", false, "the dump's LOCK TABLES … WRITE around each table's rows", k_loads},
    {"CREATE VIEW", false, "create views", k_loads},
    {"CREATE ROUTINE", false, "create functions and procedures", k_loads},
    {"ALTER ROUTINE", false, "the dump's DROP … IF EXISTS before each routine", k_loads},
    {"SET USER", false, "create views, triggers, routines and events whose DEFINER is another user", k_loads},
    {"UPDATE",
     false,
     "replay binary logs (point-in-time restores, restores and verifications of incrementals)",
     {incremental, restore_until}},
    {"DELETE", false, "replay binary logs", {incremental, restore_until}},
    {"BINLOG REPLAY", false, "run the BINLOG statements of a replay", {incremental, restore_until}},
    {"BINLOG ADMIN",
     false,
     "keep a verification restore on the server out of the binary log (SET SESSION sql_log_bin = 0)",
     {verify_on_server}},
    {"PROCESS", false, "see every session's statements (long-running queries)", {collectors}},
    {"SLAVE MONITOR", false, "replica lag (SHOW SLAVE STATUS)", {collectors}},
};

const std::vector<Privilege> k_postgres{
    {"LOGIN", true, "connect", {backup, verify, restore, collectors}},
    {"pg_read_all_data", false, "read every table, sequence and large object for pg_dump", {backup}},
    {"BYPASSRLS",
     true,
     "dump every row of tables with row-level security (pg_dump stops at them otherwise; a count would be short)",
     {backup}},
    {"CREATEDB", true, "create the database restored into and scratch databases", {verify, restore}},
    {"pg_signal_backend",
     false,
     "end the sessions of a database that restore --force replaces, at the swap",
     {restore}},
    {"pg_monitor", false, "see every session and pg_stat_statements of every user", {collectors}},
};

std::string join(const std::vector<std::string>& items, const char* separator) {
  std::string text;
  for (const auto& item : items) text += (text.empty() ? "" : separator) + item;
  return text;
}

std::string quote_mysql(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) quoted += c == '\'' ? std::string("''") : std::string(1, c);
  return quoted + "'";
}

}  // namespace

std::string_view job_name(Job job) {
  switch (job) {
    case backup: return "backup";
    case incremental: return "incremental";
    case log_archive: return "log";
    case verify: return "verify";
    case verify_on_server: return "verify on the server";
    case restore: return "restore";
    case restore_until: return "restore --until";
    case collectors: return "collectors";
  }
  return "unknown";
}

std::span<const Job> all_jobs() {
  return k_jobs;
}

std::string_view privilege_family(std::string_view engine) {
  return engine == "postgres" ? "postgres" : "mysql";
}

std::span<const Privilege> privileges_of(std::string_view family) {
  if (family == "mysql") return k_mysql;
  if (family == "postgres") return k_postgres;
  throw Error(ErrorKind::internal, "no privilege table for '" + std::string(family) + "'");
}

std::vector<const Privilege*> privileges_for(std::string_view family, const std::vector<Job>& jobs) {
  std::vector<const Privilege*> needed;
  for (const auto& privilege : privileges_of(family))
    if (std::any_of(privilege.jobs.begin(), privilege.jobs.end(),
                    [&](Job job) { return std::find(jobs.begin(), jobs.end(), job) != jobs.end(); }))
      needed.push_back(&privilege);
  return needed;
}

std::vector<Job> jobs_of(const Target& target) {
  std::vector<Job> jobs{backup, restore, collectors};
  if (!target.schedule.verify.empty()) jobs.push_back(verify);
  if (!target.schedule.verify.empty() && target.verify.into == "server") jobs.push_back(verify_on_server);
  if (!target.schedule.incremental.empty()) jobs.push_back(incremental);
  if (target.schedule.continuous_log) jobs.insert(jobs.end(), {log_archive, restore_until});
  return jobs;
}

std::vector<std::string> grant_statements(std::string_view family, const std::vector<Job>& jobs,
                                          const std::string& user, const std::string& host) {
  std::vector<std::string> grants, attributes, memberships;
  for (const auto* privilege : privileges_for(family, jobs)) {
    std::string name(privilege->name);
    if (family == "postgres")
      (privilege->attribute ? attributes : memberships).push_back(name);
    else
      grants.push_back(name);
  }
  std::vector<std::string> statements;
  if (family == "postgres") {
    std::string role = "\"" + user + "\"";
    if (!attributes.empty()) statements.push_back("ALTER ROLE " + role + " " + join(attributes, " ") + ";");
    if (!memberships.empty()) statements.push_back("GRANT " + join(memberships, ", ") + " TO " + role + ";");
  } else if (!grants.empty()) {
    statements.push_back("GRANT " + join(grants, ", ") + " ON *.* TO " + quote_mysql(user) + "@" + quote_mysql(host) +
                         ";");
  }
  return statements;
}

std::string privileges_markdown() {
  std::string text;
  for (auto [family, title] : {std::pair{"mysql", "MariaDB"}, std::pair{"postgres", "PostgreSQL"}}) {
    text += "#### " + std::string(title) + "\n\n| privilege | needed by | why |\n|---|---|---|\n";
    for (const auto& privilege : privileges_of(family)) {
      std::vector<std::string> jobs;
      for (Job job : k_jobs)
        if (std::find(privilege.jobs.begin(), privilege.jobs.end(), job) != privilege.jobs.end())
          jobs.push_back(std::string(job_name(job)));
      text += "| `" + std::string(privilege.name) + "`" + (privilege.attribute ? " (role attribute)" : "") + " | " +
              join(jobs, ", ") + " | " + std::string(privilege.why) + " |\n";
    }
    text += "\nBy what the target does (each list includes the ones above it):\n\n";
    std::vector<std::pair<const char*, std::vector<Job>>> levels{
        {"backups only", {backup}},
        {"backups, verification restores and restores", {backup, verify, restore}},
        {"and incrementals", {backup, verify, restore, incremental}},
        {"and continuous log archiving with point-in-time restores",
         {backup, verify, restore, incremental, log_archive, restore_until}}};
    // PostgreSQL has no incrementals or log archive yet.
    if (std::string_view(family) == "postgres") levels.resize(2);
    for (const auto& [what, jobs] : levels) {
      text += "- " + std::string(what) + ":\n\n  ```sql\n";
      for (const auto& statement : grant_statements(family, jobs, "dbkeeper", "127.0.0.1"))
        text += "  " + statement + "\n";
      text += "  ```\n";
    }
    text += "\nEverything, for a target that schedules every job (the collectors too):\n\n```sql\n";
    std::vector<Job> every(k_jobs.begin(), k_jobs.end());
    for (const auto& statement : grant_statements(family, every, "dbkeeper", "127.0.0.1")) text += statement + "\n";
    text += "```\n\n";
  }
  return text;
}

}  // namespace dbkeeper
