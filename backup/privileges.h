#pragma once
// The database privileges each dbkeeper job needs, per engine: the one list
// that docs/privileges.md, `dbkeeper check` and the test servers' users are
// made from, so the three cannot drift apart.

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "backup/target.h"

namespace dbkeeper {

// What a target's configuration makes dbkeeper do on its server.
// verify_on_server: verification restores on the server rather than in a
// scratch instance ([target.verify] into = "server").
enum class Job { backup, incremental, log_archive, verify, verify_on_server, restore, restore_until, collectors };

std::string_view job_name(Job job);  // "backup", "incremental", "log", "verify", ...
std::span<const Job> all_jobs();

// One privilege: on MariaDB a global privilege (GRANT … ON *.*); on
// PostgreSQL a role attribute (CREATEDB) or a role to be a member of
// (pg_read_all_data).
struct Privilege {
  std::string_view name;
  bool attribute = false;  // PostgreSQL: a role attribute rather than a membership
  std::string_view why;
  std::vector<Job> jobs;
};

// "mysql" for MariaDB and MySQL (MariaDB 10.5+ names), "postgres".
std::string_view privilege_family(std::string_view engine);
std::span<const Privilege> privileges_of(std::string_view family);

// The privileges that `jobs` need, in table order.
std::vector<const Privilege*> privileges_for(std::string_view family, const std::vector<Job>& jobs);

// The jobs a target's configuration schedules, plus backups and restores,
// which any target may be asked for in an emergency, and the collectors.
std::vector<Job> jobs_of(const Target& target);

// Copy-paste statements that give `user` exactly what `jobs` need.
// MariaDB: one GRANT ON *.* to 'user'@'host'; PostgreSQL: ALTER ROLE for
// attributes, GRANT for memberships.
std::vector<std::string> grant_statements(std::string_view family, const std::vector<Job>& jobs,
                                          const std::string& user, const std::string& host = "%");

// The Markdown that docs/privileges.md carries between its generated
// markers: per engine, a table of privilege, jobs and why, and the
// statements for a target that runs every job.
std::string privileges_markdown();

}  // namespace dbkeeper
