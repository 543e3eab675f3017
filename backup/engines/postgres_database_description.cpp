#include "backup/engines/postgres_database_description.h"

#include <algorithm>

namespace dbkeeper {
namespace {

// Objects that belong to an extension come back with CREATE EXTENSION;
// system schemas are the server's.
constexpr const char* k_user_namespace = R"(
  n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%'
  AND n.nspname NOT LIKE 'pg\_temp%')";

std::string not_extension_member(const char* catalog, const char* oid) {
  return std::string("NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = '") + catalog +
         "'::regclass AND d.objid = " + oid + " AND d.deptype = 'e')";
}

// Rows of (kind, name, definition, owner, acl[, value]).
void add_rows(DatabaseDescription& description, const QueryResult& result) {
  for (const auto& row : result.rows) {
    ObjectRecord object{row[0].value_or(""), row[1].value_or(""), definition_digest(row[2].value_or("NULL")),
                        row[3].value_or(""), row[4].value_or(""), {}};
    if (row.size() > 5 && row[5]) object.value = std::stoll(*row[5]);
    description.objects.push_back(std::move(object));
  }
}

}  // namespace

DatabaseDescription describe_postgres_database(PostgresConnection& connection) {
  // Definitions name every object with its schema whatever the session's
  // or the database's search_path, so a copy compares equal.
  connection.query("SELECT pg_catalog.set_config('search_path', '', false)");
  DatabaseDescription description;
  auto& properties = description.properties;
  auto database = connection.query(
      "SELECT pg_get_userbyid(d.datdba), pg_encoding_to_char(d.encoding), d.datcollate, d.datctype, "
      "CASE d.datlocprovider WHEN 'i' THEN 'icu' ELSE 'libc' END, coalesce(d.daticulocale, ''), "
      "coalesce(shobj_description(d.oid, 'pg_database'), ''), d.datacl IS NULL "
      "FROM pg_database d WHERE d.datname = current_database()");
  const auto& row = database.rows.at(0);
  properties.owner = row[0].value_or("");
  properties.encoding = row[1].value_or("");
  properties.lc_collate = row[2].value_or("");
  properties.lc_ctype = row[3].value_or("");
  properties.locale_provider = row[4].value_or("");
  properties.icu_locale = row[5].value_or("");
  properties.comment = row[6].value_or("");
  if (row[7].value_or("t") == "f") {
    properties.grants.emplace();
    // The owner's own privileges are implicit and follow the owner.
    for (const auto& grant :
         connection
             .query("SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END, "
                    "a.privilege_type, a.is_grantable FROM pg_database d, aclexplode(d.datacl) a "
                    "WHERE d.datname = current_database() AND a.grantee <> d.datdba ORDER BY 1, 2")
             .rows)
      properties.grants->push_back({grant[0].value_or(""), grant[1].value_or(""), grant[2].value_or("f") == "t"});
  }
  for (const auto& setting :
       connection
           .query("SELECT coalesce(pg_get_userbyid(NULLIF(s.setrole, 0)), ''), unnest(s.setconfig) "
                  "FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase "
                  "WHERE d.datname = current_database() ORDER BY 1, 2")
           .rows) {
    if (setting[0].value_or("").empty())
      properties.settings.push_back(setting[1].value_or(""));
    else
      properties.role_settings.push_back(*setting[0] + ":" + setting[1].value_or(""));
  }
  for (const auto& extension :
       connection
           .query("SELECT e.extname, e.extversion, n.nspname FROM pg_extension e "
                  "JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname <> 'plpgsql' ORDER BY 1")
           .rows)
    properties.extensions.push_back({extension[0].value_or(""), extension[1].value_or(""), extension[2].value_or("")});

  std::string user_namespace = k_user_namespace;
  add_rows(description, connection.query("SELECT 'schema', n.nspname, '', pg_get_userbyid(n.nspowner), "
                                         "coalesce((SELECT string_agg(a::text, ',' ORDER BY a::text) FROM "
                                         "unnest(n.nspacl) a), '') FROM pg_namespace n WHERE " +
                                         user_namespace + " AND " + not_extension_member("pg_namespace", "n.oid")));
  // Tables (partitioned or not), views, materialized views, sequences and
  // foreign tables; columns, defaults, identity, generation and partition
  // bounds are part of a table's definition.
  add_rows(description,
           connection.query(
               "SELECT CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'table' WHEN 'v' THEN 'view' "
               "WHEN 'm' THEN 'materialized view' WHEN 'S' THEN 'sequence' ELSE 'foreign table' END, "
               "n.nspname || '.' || c.relname, "
               "concat_ws('|', c.relkind, c.relpersistence, c.relrowsecurity, c.relforcerowsecurity, "
               "  c.reloptions::text, pg_get_partkeydef(c.oid), pg_get_expr(c.relpartbound, c.oid), "
               "  CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END, "
               "  obj_description(c.oid, 'pg_class'), "
               "  (SELECT string_agg(concat_ws(' ', a.attname, format_type(a.atttypid, a.atttypmod), "
               "     CASE WHEN a.attnotnull THEN 'not null' END, a.attidentity, a.attgenerated, "
               "     pg_get_expr(ad.adbin, ad.adrelid), col_description(c.oid, a.attnum), "
               "     (SELECT collname FROM pg_collation WHERE oid = a.attcollation AND collname <> 'default')), "
               "     ', ' ORDER BY a.attnum) "
               "   FROM pg_attribute a LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum "
               "   WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), "
               "  (SELECT concat_ws(' ', s.seqtypid::regtype, s.seqstart, s.seqincrement, s.seqmax, s.seqmin, "
               "     s.seqcache, s.seqcycle) FROM pg_sequence s WHERE s.seqrelid = c.oid)), "
               "pg_get_userbyid(c.relowner), coalesce((SELECT string_agg(a::text, ',' ORDER BY a::text) FROM "
               "unnest(c.relacl) a), ''), "
               "CASE WHEN c.relkind = 'S' THEN (SELECT coalesce(q.last_value, s.seqstart - s.seqincrement) "
               "  FROM pg_sequences q, pg_sequence s WHERE s.seqrelid = c.oid "
               "  AND q.schemaname = n.nspname AND q.sequencename = c.relname) END "
               "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
               "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND " +
               user_namespace + " AND " + not_extension_member("pg_class", "c.oid")));
  add_rows(description, connection.query("SELECT 'index', n.nspname || '.' || c.relname, pg_get_indexdef(c.oid), '', "
                                         "'' FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                                         "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE " +
                                         user_namespace + " AND " + not_extension_member("pg_class", "c.oid")));
  add_rows(
      description,
      connection.query("SELECT 'constraint', n.nspname || '.' || coalesce(r.relname, t.typname) || '.' || k.conname, "
                       "pg_get_constraintdef(k.oid), '', '' FROM pg_constraint k "
                       "JOIN pg_namespace n ON n.oid = k.connamespace LEFT JOIN pg_class r ON r.oid = k.conrelid "
                       "LEFT JOIN pg_type t ON t.oid = k.contypid WHERE " +
                       user_namespace + " AND " + not_extension_member("pg_constraint", "k.oid")));
  add_rows(description,
           connection.query(
               "SELECT CASE p.prokind WHEN 'a' THEN 'aggregate' WHEN 'p' THEN 'procedure' ELSE 'function' END, "
               "n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')', "
               "CASE WHEN p.prokind = 'a' THEN (SELECT concat_ws('|', g.aggtransfn, g.aggfinalfn, g.aggcombinefn, "
               "  g.aggtranstype::regtype, g.agginitval, g.aggkind) FROM pg_aggregate g WHERE g.aggfnoid = p.oid) "
               "  ELSE pg_get_functiondef(p.oid) END, "
               "pg_get_userbyid(p.proowner), coalesce((SELECT string_agg(a::text, ',' ORDER BY a::text) FROM "
               "unnest(p.proacl) a), '') FROM pg_proc p "
               "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE " +
               user_namespace + " AND " + not_extension_member("pg_proc", "p.oid")));
  add_rows(
      description,
      connection.query("SELECT 'trigger', n.nspname || '.' || c.relname || '.' || t.tgname, pg_get_triggerdef(t.oid), "
                       "'', '' FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                       "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE NOT t.tgisinternal AND " +
                       user_namespace));
  // Enums, domains, composite and range types (a table's row type is the table's).
  add_rows(description,
           connection.query(
               "SELECT CASE t.typtype WHEN 'e' THEN 'enum' WHEN 'd' THEN 'domain' WHEN 'r' THEN 'range type' "
               "ELSE 'composite type' END, n.nspname || '.' || t.typname, "
               "concat_ws('|', format_type(t.typbasetype, t.typtypmod), t.typnotnull, t.typdefault, "
               "  (SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_enum e "
               "   WHERE e.enumtypid = t.oid), "
               "  (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ',' ORDER BY a.attnum) "
               "   FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
               "   WHERE c.oid = t.typrelid AND c.relkind = 'c' AND a.attnum > 0)), "
               "pg_get_userbyid(t.typowner), coalesce((SELECT string_agg(a::text, ',' ORDER BY a::text) FROM "
               "unnest(t.typacl) a), '') FROM pg_type t "
               "JOIN pg_namespace n ON n.oid = t.typnamespace "
               "WHERE (t.typtype IN ('e', 'd', 'r') OR (t.typtype = 'c' AND EXISTS "
               "  (SELECT 1 FROM pg_class c WHERE c.oid = t.typrelid AND c.relkind = 'c'))) AND " +
               user_namespace + " AND " + not_extension_member("pg_type", "t.oid")));
  add_rows(description,
           connection.query("SELECT 'policy', c.relname || '.' || p.polname, "
                            "concat_ws('|', p.polcmd, p.polpermissive, "
                            "  (SELECT string_agg(CASE WHEN r = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(r) END, ',' "
                            "   ORDER BY 1) FROM unnest(p.polroles) r), "
                            "  pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid)), '', '' "
                            "FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid "
                            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE " +
                            user_namespace));
  std::sort(description.objects.begin(), description.objects.end(), [](const ObjectRecord& a, const ObjectRecord& b) {
    return std::tie(a.kind, a.name) < std::tie(b.kind, b.name);
  });
  return description;
}

}  // namespace dbkeeper
