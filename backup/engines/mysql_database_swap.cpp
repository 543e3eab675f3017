#include "backup/engines/mysql_database_swap.h"

#include <spdlog/spdlog.h>

#include <cctype>
#include <vector>

#include "core/error.h"

namespace dbkeeper {
namespace {

struct StoredObject {
  std::string kind;  // VIEW, FUNCTION, PROCEDURE, TRIGGER, EVENT
  std::string name;
  std::string create;
  std::string sql_mode;
  std::string character_set_client;
  std::string collation_connection;
  std::string time_zone;
};

std::string q(const std::string& name) {
  return MysqlConnection::quote_identifier(name);
}

// Column `name` of the single row of `result`.
std::string column(const QueryResult& result, const std::string& name) {
  for (std::size_t i = 0; i < result.columns.size(); ++i)
    if (result.columns[i] == name) return result.rows.at(0).at(i).value_or("");
  return "";
}

// In creation order: routines (views may call them), views, triggers, events.
std::vector<StoredObject> stored_objects(MysqlConnection& connection, const std::string& database) {
  connection.execute("USE " + q(database));
  auto schema = connection.quote_string(database);
  std::vector<StoredObject> objects;
  auto add = [&](const std::string& kind, const std::string& name, const char* create_column) {
    auto shown = connection.query("SHOW CREATE " + kind + " " + q(name));
    objects.push_back({kind, name, column(shown, create_column), column(shown, "sql_mode"),
                       column(shown, "character_set_client"), column(shown, "collation_connection"),
                       column(shown, "time_zone")});
  };
  for (const auto& row : connection
                             .query("SELECT routine_type, routine_name FROM information_schema.routines WHERE "
                                    "routine_schema = " +
                                    schema)
                             .rows)
    add(row[0].value_or(""), row[1].value_or(""),
        row[0].value_or("") == "FUNCTION" ? "Create Function" : "Create Procedure");
  for (const auto& row :
       connection.query("SELECT table_name FROM information_schema.views WHERE table_schema = " + schema).rows)
    add("VIEW", row[0].value_or(""), "Create View");
  for (const auto& row :
       connection.query("SELECT trigger_name FROM information_schema.triggers WHERE trigger_schema = " + schema).rows)
    add("TRIGGER", row[0].value_or(""), "SQL Original Statement");
  for (const auto& row :
       connection.query("SELECT event_name FROM information_schema.events WHERE event_schema = " + schema).rows)
    add("EVENT", row[0].value_or(""), "Create Event");
  return objects;
}

void drop_objects(MysqlConnection& connection, const std::string& database, const std::vector<StoredObject>& objects) {
  for (auto it = objects.rbegin(); it != objects.rend(); ++it)
    connection.execute("DROP " + it->kind + " IF EXISTS " + q(database) + "." + q(it->name));
}

// Views may depend on each other: whatever fails is tried again after the
// rest, until a round creates nothing more.
void create_objects(MysqlConnection& connection, const std::string& database, std::vector<StoredObject> objects) {
  connection.execute("USE " + q(database));
  while (!objects.empty()) {
    std::vector<StoredObject> failed;
    std::string last_error;
    for (const auto& object : objects) {
      try {
        connection.execute("SET SESSION sql_mode = " + connection.quote_string(object.sql_mode));
        if (!object.character_set_client.empty())
          connection.execute("SET SESSION character_set_client = " +
                             connection.quote_string(object.character_set_client));
        if (!object.collation_connection.empty())
          connection.execute("SET SESSION collation_connection = " +
                             connection.quote_string(object.collation_connection));
        if (!object.time_zone.empty())
          connection.execute("SET SESSION time_zone = " + connection.quote_string(object.time_zone));
        connection.execute(object.create);
      } catch (const Error& e) {
        failed.push_back(object);
        last_error = e.what();
      }
    }
    if (failed.size() == objects.size())
      throw Error(ErrorKind::query, "unable to recreate " + std::to_string(failed.size()) + " object(s) of database '" +
                                        database + "', the first " + failed.front().kind + " '" + failed.front().name +
                                        "': " + last_error);
    objects = std::move(failed);
  }
}

}  // namespace

void swap_mysql_databases(MysqlConnection& connection, const std::string& name, const std::string& replacement,
                          const std::string& previous) {
  // Application sessions holding a table of `name` delay the RENAME; a
  // restore must not wait on them for the server's default year.
  connection.execute("SET SESSION lock_wait_timeout = 60");
  auto old_objects = stored_objects(connection, name);
  auto new_objects = stored_objects(connection, replacement);
  // The database's own defaults go with its contents: the kept one gets the
  // old defaults, the name the copy's (before its routines are recreated,
  // which take them).
  auto defaults = [&](const std::string& database) {
    std::string text;
    auto schemata = connection.query("SELECT * FROM information_schema.schemata WHERE schema_name = " +
                                     connection.quote_string(database));
    if (schemata.empty()) return text;
    for (std::size_t i = 0; i < schemata.columns.size(); ++i) {
      std::string column = schemata.columns[i];
      for (auto& c : column) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      auto value = schemata.rows[0][i];
      if (!value) continue;
      if (column == "DEFAULT_CHARACTER_SET_NAME") text += " CHARACTER SET " + *value;
      if (column == "DEFAULT_COLLATION_NAME") text += " COLLATE " + *value;
      if (column == "SCHEMA_COMMENT") text += " COMMENT " + connection.quote_string(*value);  // MariaDB 10.5+
    }
    return text;
  };
  std::string old_defaults = defaults(name);
  std::string new_defaults = defaults(replacement);
  connection.execute("CREATE DATABASE " + q(previous) + old_defaults);

  std::string rename;
  auto move_tables = [&](const std::string& from, const std::string& to) {
    for (const auto& row : connection
                               .query("SELECT table_name FROM information_schema.tables WHERE table_type <> 'VIEW' "
                                      "AND table_schema = " +
                                      connection.quote_string(from))
                               .rows)
      rename += std::string(rename.empty() ? "RENAME TABLE " : ", ") + q(from) + "." + q(row[0].value_or("")) + " TO " +
                q(to) + "." + q(row[0].value_or(""));
  };
  move_tables(name, previous);
  move_tables(replacement, name);

  drop_objects(connection, replacement, new_objects);
  drop_objects(connection, name, old_objects);
  try {
    // Every table of both databases moves in this one statement, or none does.
    if (!rename.empty()) connection.execute(rename);
  } catch (const Error& e) {
    create_objects(connection, name, old_objects);
    connection.execute("DROP DATABASE IF EXISTS " + q(previous));
    throw Error(e.kind(),
                std::string("unable to move the tables into '") + name + "'; the database is as it was: " + e.what());
  }
  if (!new_defaults.empty()) connection.execute("ALTER DATABASE " + q(name) + new_defaults);
  create_objects(connection, name, new_objects);
  create_objects(connection, previous, old_objects);
  connection.execute("DROP DATABASE " + q(replacement));
}

}  // namespace dbkeeper
