#include "backup/engines/postgres_readiness.h"

#include <map>
#include <set>

#include "backup/dump_stream.h"
#include "backup/engines/postgres_engine.h"
#include "backup/privileges.h"
#include "core/error.h"

namespace dbkeeper {
namespace {

std::string join(const std::vector<std::string>& items) {
  std::string text;
  for (const auto& item : items) text += (text.empty() ? "" : ", ") + item;
  return text;
}

std::string literal(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) quoted += c == '\'' ? std::string("''") : std::string(1, c);
  return quoted + "'";
}

CheckResult check_privileges(PostgresConnection& connection, const Target& target) {
  auto role = connection
                  .query(
                      "SELECT rolsuper, rolcanlogin, rolcreatedb, rolbypassrls FROM pg_roles "
                      "WHERE rolname = current_user")
                  .rows.at(0);
  bool superuser = role[0].value_or("f") == "t";
  if (superuser) return {"privileges", true, "'" + target.user + "' is a superuser (more than dbkeeper needs)"};
  std::map<std::string, bool> attributes{{"LOGIN", role[1].value_or("f") == "t"},
                                         {"CREATEDB", role[2].value_or("f") == "t"},
                                         {"BYPASSRLS", role[3].value_or("f") == "t"}};
  std::vector<std::string> missing_attributes, missing_roles;
  auto jobs = jobs_of(target);
  for (const auto* privilege : privileges_for("postgres", jobs)) {
    std::string name(privilege->name);
    if (privilege->attribute) {
      if (!attributes[name]) missing_attributes.push_back(name);
      continue;
    }
    auto member = connection.query("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = " + literal(name) +
                                   ") AND pg_has_role(current_user, " + literal(name) + ", 'USAGE')");
    if (member.scalar().value_or("f") != "t") missing_roles.push_back(name);
  }
  if (missing_attributes.empty() && missing_roles.empty())
    return {"privileges", true, "'" + target.user + "' holds what " + std::to_string(jobs.size()) + " job(s) need"};
  std::string fix;
  std::string quoted = PostgresConnection::quote_identifier(target.user);
  if (!missing_attributes.empty()) {
    std::string list;
    for (const auto& a : missing_attributes) list += " " + a;
    fix += "ALTER ROLE " + quoted + list + ";";
  }
  if (!missing_roles.empty())
    fix += (fix.empty() ? "" : " ") + ("GRANT " + join(missing_roles) + " TO " + quoted + ";");
  std::vector<std::string> missing = missing_attributes;
  missing.insert(missing.end(), missing_roles.begin(), missing_roles.end());
  return {"privileges", false,
          "'" + target.user + "' lacks " + join(missing) + "; run as a superuser: " + fix + " (docs/privileges.md)"};
}

// CONNECT on each database, and with owner = "keep" membership in every
// role that owns something there (a restore gives each object back to it).
std::vector<CheckResult> check_databases(PostgresConnection& connection, const Target& target) {
  std::vector<std::string> databases = target.databases;
  if (databases.empty())
    for (const auto& row :
         connection.query("SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY 1").rows)
      databases.push_back(row[0].value_or(""));
  std::vector<std::string> unreachable, foreign_owners;
  for (const auto& database : databases) {
    auto exists = connection.query(
        "SELECT has_database_privilege(current_user, oid, 'CONNECT') FROM pg_database "
        "WHERE datname = " +
        literal(database));
    if (exists.empty()) {
      unreachable.push_back("'" + database + "' does not exist");
      continue;
    }
    if (exists.scalar().value_or("f") != "t") {
      unreachable.push_back("no CONNECT on '" + database + "' (GRANT CONNECT ON DATABASE " +
                            PostgresConnection::quote_identifier(database) + " TO " +
                            PostgresConnection::quote_identifier(target.user) + ";)");
      continue;
    }
    if (target.restore.owner != "keep") continue;
    try {
      auto db = PostgresConnection::connect(postgres_connect_options(target, database));
      for (const auto& row :
           db.query("SELECT DISTINCT pg_get_userbyid(owner) FROM ("
                    "  SELECT relowner AS owner FROM pg_class c JOIN pg_namespace n ON n.oid = "
                    "    c.relnamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') "
                    "    AND n.nspname NOT LIKE 'pg\\_toast%' AND NOT EXISTS (SELECT 1 FROM pg_depend d "
                    "    WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e') "
                    "  UNION SELECT p.proowner FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                    "    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND NOT EXISTS "
                    "    (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND "
                    "    d.objid = p.oid AND d.deptype = 'e') "
                    "  UNION SELECT nspowner FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' "
                    "    AND nspname <> 'information_schema' "
                    "  UNION SELECT datdba FROM pg_database WHERE datname = current_database()) o "
                    "WHERE NOT pg_has_role(current_user, owner, 'USAGE') "
                    "AND pg_get_userbyid(owner) <> 'pg_database_owner' ORDER BY 1")
               .rows)
        foreign_owners.push_back(row[0].value_or(""));
    } catch (const Error& e) {
      unreachable.push_back("'" + database + "': " + e.what());
    }
  }
  std::vector<CheckResult> results;
  if (unreachable.empty())
    results.push_back({"databases", true, std::to_string(databases.size()) + " database(s) reachable"});
  else
    results.push_back({"databases", false, join(unreachable)});
  if (target.restore.owner == "keep") {
    std::set<std::string> unique(foreign_owners.begin(), foreign_owners.end());
    std::vector<std::string> owners(unique.begin(), unique.end());
    if (owners.empty()) {
      results.push_back({"restore-owners", true, "'" + target.user + "' can give every object back to its owner"});
    } else {
      std::vector<std::string> quoted;
      for (const auto& owner : owners) quoted.push_back(PostgresConnection::quote_identifier(owner));
      results.push_back({"restore-owners", false,
                         "restores keep owners (owner = \"keep\"), but '" + target.user + "' is no member of " +
                             join(owners) + ": run GRANT " + join(quoted) + " TO " +
                             PostgresConnection::quote_identifier(target.user) +
                             "; or set [target.restore] owner = \"restoring-user\""});
    }
  }
  return results;
}

CheckResult check_tools(PostgresConnection& connection) {
  int major =
      std::stoi(connection.query("SELECT current_setting('server_version_num')").scalar().value_or("0")) / 10000;
  std::vector<std::string> found, problems;
  for (const char* name : {"pg_dump", "pg_restore", "pg_dumpall"}) {
    std::filesystem::path versioned = "/usr/lib/postgresql/" + std::to_string(major) + "/bin/" + name;
    std::string tool;
    if (std::filesystem::exists(versioned))
      tool = versioned.string();
    else if (auto path = find_executable(name))
      tool = path->string();
    if (tool.empty()) {
      problems.push_back(std::string(name) + " is not installed (install postgresql-client-" + std::to_string(major) +
                         ")");
      continue;
    }
    auto version = tool_version(tool);  // "pg_dump (PostgreSQL) 15.18 (Debian …)"
    int tool_major = 0;
    auto at = version.find(") ");
    if (at != std::string::npos) tool_major = std::atoi(version.c_str() + at + 2);
    if (tool_major > 0 && tool_major < major)
      problems.push_back(tool + " is from PostgreSQL " + std::to_string(tool_major) + ", older than the server (" +
                         std::to_string(major) + "), which it refuses: install postgresql-client-" +
                         std::to_string(major));
    else
      found.push_back(tool);
  }
  if (problems.empty()) return {"tools", true, join(found)};
  return {"tools", false, join(problems)};
}

}  // namespace

std::vector<CheckResult> check_postgres_server(const Target& target) {
  std::vector<CheckResult> results;
  std::optional<PostgresConnection> connection;
  try {
    auto options = postgres_connect_options(target);
    options.statement_timeout = std::chrono::seconds(30);
    connection.emplace(PostgresConnection::connect(options));
    results.push_back({"connect", true, "PostgreSQL " + connection->server_version()});
  } catch (const Error& e) {
    results.push_back({"connect", false, std::string(e.what()) + "; check host, port, user, password and pg_hba.conf"});
    return results;
  }
  try {
    results.push_back(check_privileges(*connection, target));
    for (auto& result : check_databases(*connection, target)) results.push_back(std::move(result));
    results.push_back(check_tools(*connection));
  } catch (const Error& e) {
    results.push_back({"server", false, e.what()});
  }
  return results;
}

}  // namespace dbkeeper
