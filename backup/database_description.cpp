#include "backup/database_description.h"

#include <algorithm>
#include <map>
#include <set>

#include "backup/pipeline/sha256_sink.h"

namespace dbkeeper {
namespace {

std::string join(const std::vector<std::string>& values) {
  std::string text;
  for (const auto& value : values) text += (text.empty() ? "" : ", ") + value;
  return text.empty() ? "none" : text;
}

std::string describe_grants(const std::optional<std::vector<DatabaseGrant>>& grants) {
  if (!grants) return "the default";
  std::vector<std::string> items;
  for (const auto& grant : *grants)
    items.push_back(grant.privilege + " to " + grant.grantee + (grant.grantable ? " with grant option" : ""));
  std::sort(items.begin(), items.end());
  return join(items);
}

void compare_field(std::vector<std::string>& problems, const char* what, const std::string& expected,
                   const std::string& found) {
  if (expected != found)
    problems.push_back("the database's " + std::string(what) + " is '" + found + "', the backup recorded '" + expected +
                       "'");
}

std::vector<std::string> sorted(std::vector<std::string> values) {
  std::sort(values.begin(), values.end());
  return values;
}

}  // namespace

std::string without_database_qualifier(std::string definition, const std::string& database) {
  if (database.empty()) return definition;
  std::string qualifier = "`";
  for (char c : database) qualifier += c == '`' ? std::string("``") : std::string(1, c);
  qualifier += "`.";
  for (auto at = definition.find(qualifier); at != std::string::npos; at = definition.find(qualifier, at))
    definition.erase(at, qualifier.size());
  return definition;
}

std::string definition_digest(const std::string& definition, const std::string& database) {
  return sha256_hex(without_database_qualifier(definition, database));
}

std::vector<std::string> compare_descriptions(const DatabaseDescription& expected, const DatabaseDescription& found,
                                              const CopyScope& scope) {
  std::vector<std::string> problems;
  const auto& want = expected.properties;
  const auto& have = found.properties;
  compare_field(problems, "character set", want.character_set, have.character_set);
  compare_field(problems, "collation", want.collation, have.collation);
  compare_field(problems, "comment", want.comment, have.comment);
  compare_field(problems, "encoding", want.encoding, have.encoding);
  compare_field(problems, "LC_COLLATE", want.lc_collate, have.lc_collate);
  compare_field(problems, "LC_CTYPE", want.lc_ctype, have.lc_ctype);
  compare_field(problems, "locale provider", want.locale_provider, have.locale_provider);
  compare_field(problems, "ICU locale", want.icu_locale, have.icu_locale);
  if (scope.owners) compare_field(problems, "owner", want.owner, have.owner);
  if (sorted(want.settings) != sorted(have.settings))
    problems.push_back("the database's settings are " + join(sorted(have.settings)) + ", the backup recorded " +
                       join(sorted(want.settings)));
  if (scope.grants && describe_grants(want.grants) != describe_grants(have.grants))
    problems.push_back("the database's privileges are " + describe_grants(have.grants) + ", the backup recorded " +
                       describe_grants(want.grants));

  std::set<std::string> skipped(scope.skipped_extensions.begin(), scope.skipped_extensions.end());
  std::map<std::string, ExtensionRecord> extensions;
  for (const auto& extension : have.extensions) extensions[extension.name] = extension;
  for (const auto& extension : want.extensions) {
    auto it = extensions.find(extension.name);
    if (it == extensions.end()) {
      if (!skipped.contains(extension.name))
        problems.push_back("extension '" + extension.name + "' is missing from the copy");
      continue;
    }
    if (it->second.version != extension.version)
      problems.push_back("extension '" + extension.name + "' is at version " + it->second.version +
                         ", the backup recorded " + extension.version);
    extensions.erase(it);
  }
  for (const auto& [name, extension] : extensions)
    problems.push_back("extension '" + name + "' is in the copy but not in the backup");

  std::map<std::pair<std::string, std::string>, const ObjectRecord*> objects;
  for (const auto& object : found.objects) objects[{object.kind, object.name}] = &object;
  for (const auto& object : expected.objects) {
    auto it = objects.find({object.kind, object.name});
    std::string label = object.kind + " '" + object.name + "'";
    if (it == objects.end()) {
      problems.push_back(label + " is missing from the copy");
      continue;
    }
    const ObjectRecord& copy = *it->second;
    if (copy.digest != object.digest) problems.push_back(label + " has another definition in the copy");
    if (scope.owners && copy.owner != object.owner)
      problems.push_back(label + " is owned by '" + copy.owner + "', the backup recorded '" + object.owner + "'");
    if (scope.grants && copy.acl != object.acl)
      problems.push_back(label + " has the privileges '" + copy.acl + "', the backup recorded '" + object.acl + "'");
    if (object.value && (!copy.value || *copy.value < *object.value))
      problems.push_back(label + " stands at " + (copy.value ? std::to_string(*copy.value) : "no value") +
                         ", below the " + std::to_string(*object.value) + " it had when the backup started");
    objects.erase(it);
  }
  for (const auto& [key, object] : objects)
    problems.push_back(key.first + " '" + key.second + "' is in the copy but not in the backup");
  return problems;
}

}  // namespace dbkeeper
