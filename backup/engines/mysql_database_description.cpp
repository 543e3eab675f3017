#include "backup/engines/mysql_database_description.h"

#include <algorithm>
#include <regex>

namespace dbkeeper {
namespace {

// Each value with its length, so that no two rows run together alike; the
// database's own name is taken out first.
std::string field(const SqlValue& value, const std::string& database) {
  if (!value) return "NULL";
  auto text = without_database_qualifier(*value, database);
  return "v" + std::to_string(text.size()) + ":" + text;
}

// Every column of each row after the first two (kind-specific name parts)
// goes into the definition.
void add_rows(DatabaseDescription& description, const QueryResult& result, const std::string& kind,
              const std::string& database) {
  for (const auto& row : result.rows) {
    std::string definition;
    for (std::size_t i = 1; i < row.size(); ++i) definition += field(row[i], database) + "|";
    description.objects.push_back({kind, row[0].value_or(""), definition_digest(definition), "", "", {}});
  }
}

}  // namespace

DatabaseDescription describe_mysql_database(MysqlConnection& connection, const std::string& database) {
  DatabaseDescription description;
  std::string schema = connection.quote_string(database);
  std::string qualified = MysqlConnection::quote_identifier(database) + ".";

  auto schemata = connection.query("SELECT * FROM information_schema.schemata WHERE schema_name = " + schema);
  if (schemata.empty()) return description;
  for (std::size_t i = 0; i < schemata.columns.size(); ++i) {
    std::string column = schemata.columns[i];
    std::transform(column.begin(), column.end(), column.begin(), ::toupper);
    auto value = schemata.rows[0][i].value_or("");
    if (column == "DEFAULT_CHARACTER_SET_NAME") description.properties.character_set = value;
    if (column == "DEFAULT_COLLATION_NAME") description.properties.collation = value;
    if (column == "SCHEMA_COMMENT") description.properties.comment = value;  // MariaDB 10.5+
  }

  // Tables and sequences by their SHOW CREATE text, which holds columns
  // (generated, invisible), keys, partitions, engine and options.
  static const std::regex auto_increment(" AUTO_INCREMENT=[0-9]+");
  auto tables = connection.query(
      "SELECT table_name, table_type FROM information_schema.tables WHERE table_type <> 'VIEW' AND table_schema = " +
      schema + " ORDER BY table_name");
  for (const auto& row : tables.rows) {
    std::string name = row[0].value_or("");
    bool sequence = row[1].value_or("") == "SEQUENCE";
    auto create = connection.query("SHOW CREATE TABLE " + qualified + MysqlConnection::quote_identifier(name));
    std::string text = std::regex_replace(create.rows.at(0).at(1).value_or(""), auto_increment, "");
    ObjectRecord object{sequence ? "sequence" : "table", name, definition_digest(text, database), "", "", {}};
    if (sequence) {
      auto next =
          connection.query("SELECT next_not_cached_value FROM " + qualified + MysqlConnection::quote_identifier(name));
      object.value = std::stoll(next.scalar().value_or("0"));
    }
    description.objects.push_back(std::move(object));
  }

  add_rows(description,
           connection.query("SELECT table_name, view_definition, check_option, is_updatable, definer, security_type, "
                            "character_set_client, collation_connection, algorithm FROM information_schema.views "
                            "WHERE table_schema = " +
                            schema),
           "view", database);
  add_rows(description,
           connection.query(
               "SELECT CONCAT(LOWER(r.routine_type), ' ', r.routine_name), r.routine_definition, r.dtd_identifier, "
               "r.is_deterministic, r.sql_data_access, r.security_type, r.sql_mode, r.routine_comment, r.definer, "
               "r.character_set_client, r.collation_connection, r.database_collation, "
               "(SELECT GROUP_CONCAT(CONCAT_WS(' ', p.parameter_mode, p.parameter_name, p.dtd_identifier) "
               "ORDER BY p.ordinal_position SEPARATOR ', ') FROM information_schema.parameters p "
               "WHERE p.specific_schema = r.routine_schema AND p.specific_name = r.specific_name "
               "AND p.routine_type = r.routine_type AND p.ordinal_position > 0) "
               "FROM information_schema.routines r WHERE r.routine_schema = " +
               schema),
           "routine", database);
  add_rows(description,
           connection.query("SELECT trigger_name, event_object_table, action_timing, event_manipulation, action_order, "
                            "action_statement, action_orientation, sql_mode, definer, character_set_client, "
                            "collation_connection, database_collation FROM information_schema.triggers "
                            "WHERE trigger_schema = " +
                            schema),
           "trigger", database);
  add_rows(description,
           connection.query("SELECT event_name, definer, time_zone, event_definition, event_type, execute_at, "
                            "interval_value, interval_field, sql_mode, starts, ends, status, on_completion, "
                            "event_comment, character_set_client, collation_connection, database_collation "
                            "FROM information_schema.events WHERE event_schema = " +
                            schema),
           "event", database);
  add_rows(description,
           connection.query("SELECT CONCAT(table_name, '.', index_name), index_type, non_unique, "
                            "GROUP_CONCAT(CONCAT_WS(' ', column_name, sub_part, collation) ORDER BY seq_in_index), "
                            "index_comment FROM information_schema.statistics WHERE table_schema = " +
                            schema + " GROUP BY table_name, index_name, index_type, non_unique, index_comment"),
           "index", database);
  add_rows(description,
           connection.query("SELECT CONCAT(c.table_name, '.', c.constraint_name), c.constraint_type, "
                            "(SELECT k.check_clause FROM information_schema.check_constraints k "
                            "WHERE k.constraint_schema = c.constraint_schema AND k.table_name = c.table_name "
                            "AND k.constraint_name = c.constraint_name) "
                            "FROM information_schema.table_constraints c WHERE c.constraint_schema = " +
                            schema),
           "constraint", database);
  std::sort(description.objects.begin(), description.objects.end(), [](const ObjectRecord& a, const ObjectRecord& b) {
    return std::tie(a.kind, a.name) < std::tie(b.kind, b.name);
  });
  return description;
}

}  // namespace dbkeeper
