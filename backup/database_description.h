#pragma once
// What a database carries besides its rows: the properties that live on the
// database itself (character set, owner, settings, grants, comment) and an
// inventory of its objects, each with a digest of its definition. Recorded in
// the manifest when the backup is taken; a verification restore compares the
// copy with it, and a restore recreates the properties.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dbkeeper {

struct DatabaseGrant {
  std::string grantee;    // a role name, or "PUBLIC"
  std::string privilege;  // CONNECT, CREATE, TEMPORARY
  bool grantable = false;
  bool operator==(const DatabaseGrant&) const = default;
};

struct ExtensionRecord {
  std::string name;
  std::string version;
  std::string schema;
  bool operator==(const ExtensionRecord&) const = default;
};

struct DatabaseProperties {
  // MariaDB/MySQL: the database's defaults, which every table, routine and
  // sequence created without its own inherit.
  std::string character_set;
  std::string collation;
  std::string comment;  // both engines
  // PostgreSQL
  std::string owner;
  std::string encoding;
  std::string lc_collate;
  std::string lc_ctype;
  std::string locale_provider;  // "libc" or "icu"
  std::string icu_locale;
  std::vector<std::string> settings;                 // ALTER DATABASE … SET, as "name=value"
  std::vector<std::string> role_settings;            // ALTER ROLE r IN DATABASE … SET, as "role:name=value"
  std::optional<std::vector<DatabaseGrant>> grants;  // none: the default privileges
  std::vector<ExtensionRecord> extensions;
  bool operator==(const DatabaseProperties&) const = default;
};

// One object of a database: kind ("table", "view", "index", …), a name
// unique within the kind, and the SHA-256 of its definition as the server
// spells it (with the database's own name taken out, so a copy under
// another name compares equal).
struct ObjectRecord {
  std::string kind;
  std::string name;
  std::string digest;
  std::string owner;  // PostgreSQL: the owning role; MariaDB: empty (the definer is in the definition)
  std::string acl;    // PostgreSQL: its privileges as aclitem[] text, empty for the default
  // Sequences: the value when the backup started; a copy must be at least there.
  std::optional<std::int64_t> value;
  bool operator==(const ObjectRecord&) const = default;
};

struct DatabaseDescription {
  DatabaseProperties properties;
  std::vector<ObjectRecord> objects;  // sorted by kind, then name
  // What this backup of the database does not hold, one sentence each
  // (named again in the summary of every restore from it).
  std::vector<std::string> not_carried;
};

// What a restore did not carry, and which of the recorded properties the
// copy is not expected to share: the comparison skips those.
struct CopyScope {
  bool owners = true;  // owner = "keep"
  bool grants = true;  // grants = "keep"
  std::vector<std::string> skipped_extensions;
};

// Every difference between what the backup recorded and what the copy has,
// as sentences naming the object.
std::vector<std::string> compare_descriptions(const DatabaseDescription& expected, const DatabaseDescription& found,
                                              const CopyScope& scope);

// SHA-256 of a definition, with every "`<database>`." qualifier (MariaDB)
// removed, so a copy under another name digests the same.
std::string definition_digest(const std::string& definition, const std::string& database = "");
std::string without_database_qualifier(std::string definition, const std::string& database);

}  // namespace dbkeeper
