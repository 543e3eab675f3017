#include "backup/manifest.h"

#include <ctime>
#include <nlohmann/json.hpp>

#include "backup/pipeline/sha256_sink.h"
#include "backup/untrusted_input.h"
#include "core/error.h"

namespace dbkeeper {
namespace {

using nlohmann::json;

}  // namespace

double BackupManifest::duration_seconds() const {
  return std::chrono::duration<double>(finished_at - started_at).count();
}

std::uint64_t BackupManifest::raw_bytes() const {
  std::uint64_t total = 0;
  for (const auto& artifact : artifacts) total += artifact.raw_bytes;
  return total;
}

std::uint64_t BackupManifest::stored_bytes() const {
  std::uint64_t total = 0;
  for (const auto& artifact : artifacts) total += artifact.stored_bytes;
  return total;
}

std::string format_utc(TimePoint time) {
  auto seconds = std::chrono::time_point_cast<std::chrono::seconds>(time);
  auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(time - seconds).count();
  std::time_t t = std::chrono::system_clock::to_time_t(seconds);
  std::tm utc{};
  gmtime_r(&t, &utc);
  char buffer[40];
  std::size_t n = std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(buffer + n, sizeof buffer - n, ".%03dZ", static_cast<int>(millis));
  return buffer;
}

TimePoint parse_utc(const std::string& text) {
  std::tm utc{};
  int millis = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &utc.tm_year, &utc.tm_mon, &utc.tm_mday, &utc.tm_hour,
                  &utc.tm_min, &utc.tm_sec, &millis) != 7)
    throw Error(ErrorKind::integrity, "invalid timestamp '" + text + "'");
  utc.tm_year -= 1900;
  utc.tm_mon -= 1;
  return std::chrono::system_clock::from_time_t(timegm(&utc)) + std::chrono::milliseconds(millis);
}

namespace {

json position_to_json(const LogPosition& p) {
  json position = json::object();
  if (!p.binlog_file.empty()) {
    position["binlog_file"] = p.binlog_file;
    position["binlog_position"] = p.binlog_position;
  }
  if (!p.gtid.empty()) position["gtid"] = p.gtid;
  if (!p.wal_lsn.empty()) position["wal_lsn"] = p.wal_lsn;
  return position;
}

LogPosition position_from_json(const json& position) {
  LogPosition p;
  p.binlog_file = position.value("binlog_file", "");
  p.binlog_position = position.value("binlog_position", std::uint64_t{0});
  p.gtid = position.value("gtid", "");
  p.wal_lsn = position.value("wal_lsn", "");
  return p;
}

json description_to_json(const DatabaseDescription& d) {
  const auto& p = d.properties;
  json properties = json::object();
  auto put = [&](const char* key, const std::string& value) {
    if (!value.empty()) properties[key] = value;
  };
  put("character_set", p.character_set);
  put("collation", p.collation);
  put("comment", p.comment);
  put("owner", p.owner);
  put("encoding", p.encoding);
  put("lc_collate", p.lc_collate);
  put("lc_ctype", p.lc_ctype);
  put("locale_provider", p.locale_provider);
  put("icu_locale", p.icu_locale);
  if (!p.settings.empty()) properties["settings"] = p.settings;
  if (!p.role_settings.empty()) properties["role_settings"] = p.role_settings;
  if (p.grants) {
    json grants = json::array();
    for (const auto& g : *p.grants)
      grants.push_back({{"grantee", g.grantee}, {"privilege", g.privilege}, {"grantable", g.grantable}});
    properties["grants"] = grants;
  }
  if (!p.extensions.empty()) {
    json extensions = json::array();
    for (const auto& e : p.extensions)
      extensions.push_back({{"name", e.name}, {"version", e.version}, {"schema", e.schema}});
    properties["extensions"] = extensions;
  }
  json objects = json::array();
  for (const auto& o : d.objects) {
    json object{{"kind", o.kind}, {"name", o.name}, {"digest", o.digest}};
    if (!o.owner.empty()) object["owner"] = o.owner;
    if (!o.acl.empty()) object["acl"] = o.acl;
    if (o.value) object["value"] = *o.value;
    objects.push_back(object);
  }
  json result{{"properties", properties}, {"objects", objects}};
  if (!d.not_carried.empty()) result["not_carried"] = d.not_carried;
  return result;
}

DatabaseDescription description_from_json(const json& j) {
  DatabaseDescription d;
  const json& p = j.at("properties");
  auto& out = d.properties;
  out.character_set = p.value("character_set", "");
  out.collation = p.value("collation", "");
  out.comment = p.value("comment", "");
  out.owner = p.value("owner", "");
  out.encoding = p.value("encoding", "");
  out.lc_collate = p.value("lc_collate", "");
  out.lc_ctype = p.value("lc_ctype", "");
  out.locale_provider = p.value("locale_provider", "");
  out.icu_locale = p.value("icu_locale", "");
  out.settings = p.value("settings", std::vector<std::string>{});
  out.role_settings = p.value("role_settings", std::vector<std::string>{});
  if (p.contains("grants")) {
    out.grants.emplace();
    for (const auto& g : p.at("grants")) out.grants->push_back({g.at("grantee"), g.at("privilege"), g.at("grantable")});
  }
  if (p.contains("extensions"))
    for (const auto& e : p.at("extensions")) out.extensions.push_back({e.at("name"), e.at("version"), e.at("schema")});
  for (const auto& o : j.at("objects")) {
    ObjectRecord object{o.at("kind"),         o.at("name"),       o.at("digest"),
                        o.value("owner", ""), o.value("acl", ""), std::nullopt};
    if (o.contains("value")) object.value = o.at("value").get<std::int64_t>();
    d.objects.push_back(std::move(object));
  }
  d.not_carried = j.value("not_carried", std::vector<std::string>{});
  return d;
}

}  // namespace

const LogPosition& replay_start(const BackupManifest& full, const ArtifactRecord& artifact) {
  return artifact.log_position.empty() ? full.log_position : artifact.log_position;
}

namespace {
json manifest_document(const BackupManifest& m);
}  // namespace

std::string manifest_mac_text(const BackupManifest& m) {
  if (!m.stored_text.empty()) return m.stored_text;
  // Written values (times to the millisecond, durations) are what is read
  // back: take the text from the serialized form.
  json document = json::parse(manifest_document(m).dump());
  return document.dump();
}

std::string manifest_to_json(const BackupManifest& m) {
  json document = manifest_document(m);
  if (!m.mac.empty()) document["mac"] = m.mac;
  // nlohmann keeps object keys sorted, so dump() is canonical.
  document["checksum"] = sha256_hex(document.dump());
  return document.dump(2) + "\n";
}

namespace {

json manifest_document(const BackupManifest& m) {
  json artifacts = json::array();
  for (const auto& a : m.artifacts) {
    json artifact{{"name", a.name},
                  {"database", a.database},
                  {"format", a.format},
                  {"compression", a.compression},
                  {"compression_level", a.compression_level},
                  {"raw_bytes", a.raw_bytes},
                  {"stored_bytes", a.stored_bytes},
                  {"sha256", a.sha256}};
    if (!a.encryption.empty()) artifact["encryption"] = a.encryption;
    if (!a.log_position.empty()) artifact["log_position"] = position_to_json(a.log_position);
    if (!a.files.empty()) {
      json files = json::array();
      for (const auto& f : a.files)
        files.push_back(
            {{"name", f.name}, {"raw_bytes", f.raw_bytes}, {"stored_bytes", f.stored_bytes}, {"sha256", f.sha256}});
      artifact["files"] = files;
    }
    artifacts.push_back(artifact);
  }
  json tables = json::object();
  for (const auto& [database, list] : m.tables) {
    json entries = json::array();
    for (const auto& t : list) entries.push_back({{"name", t.name}, {"rows", t.rows}});
    tables[database] = entries;
  }
  json position = position_to_json(m.log_position);

  json document{
      {"format", BackupManifest::k_format},
      {"id", m.id},
      {"target", m.target},
      {"engine", m.engine},
      {"server", {{"product", m.server_product}, {"version", m.server_version}}},
      {"type", m.type},
      {"tool", {{"name", m.tool}, {"version", m.tool_version}}},
      {"started_at", format_utc(m.started_at)},
      {"finished_at", format_utc(m.finished_at)},
      {"duration_seconds", m.duration_seconds()},
      {"databases", m.databases},
      {"tables", tables},
      {"row_count_source", m.row_count_source},
      {"artifacts", artifacts},
      {"log_position", position},
  };
  if (!m.parent.empty()) document["parent"] = m.parent;
  if (!m.descriptions.empty()) {
    json descriptions = json::object();
    for (const auto& [database, description] : m.descriptions)
      descriptions[database] = description_to_json(description);
    document["descriptions"] = descriptions;
  }
  return document;
}

}  // namespace

BackupManifest manifest_from_json(const std::string& text) {
  json document = parse_untrusted_json(text, "manifest");
  try {
    if (!document.is_object() || !document.contains("checksum"))
      throw Error(ErrorKind::integrity, "manifest has no checksum");
    std::string checksum = document["checksum"].get<std::string>();
    document.erase("checksum");
    if (sha256_hex(document.dump()) != checksum) throw Error(ErrorKind::integrity, "manifest checksum does not match");
    if (document.at("format").get<int>() != BackupManifest::k_format)
      throw Error(ErrorKind::integrity, "unsupported manifest format " + document.at("format").dump());

    BackupManifest m;
    m.id = document.at("id").get<std::string>();
    m.target = document.at("target").get<std::string>();
    m.engine = document.at("engine").get<std::string>();
    m.server_product = document.at("server").at("product").get<std::string>();
    m.server_version = document.at("server").at("version").get<std::string>();
    m.type = document.at("type").get<std::string>();
    m.tool = document.at("tool").at("name").get<std::string>();
    m.tool_version = document.at("tool").at("version").get<std::string>();
    m.started_at = parse_utc(document.at("started_at").get<std::string>());
    m.finished_at = parse_utc(document.at("finished_at").get<std::string>());
    m.databases = document.at("databases").get<std::vector<std::string>>();
    m.row_count_source = document.value("row_count_source", "");
    for (const auto& [database, list] : document.at("tables").items())
      for (const auto& t : list) m.tables[database].push_back({t.at("name"), t.at("rows")});
    for (const auto& a : document.at("artifacts")) {
      ArtifactRecord artifact{require_plain_name(a.at("name").get<std::string>(), "manifest of '" + m.id + "'"),
                              a.at("database"),
                              a.at("format"),
                              a.at("compression"),
                              a.at("compression_level"),
                              a.at("raw_bytes"),
                              a.at("stored_bytes"),
                              a.at("sha256"),
                              {},
                              a.value("encryption", "")};
      if (a.contains("log_position")) artifact.log_position = position_from_json(a.at("log_position"));
      if (a.contains("files"))
        for (const auto& f : a.at("files"))
          artifact.files.push_back({require_plain_name(f.at("name").get<std::string>(), "manifest of '" + m.id + "'"),
                                    f.at("raw_bytes"), f.at("stored_bytes"), f.at("sha256")});
      m.artifacts.push_back(std::move(artifact));
    }
    m.log_position = position_from_json(document.at("log_position"));
    m.parent = document.value("parent", "");
    m.mac = document.value("mac", "");
    json covered = document;
    covered.erase("mac");
    m.stored_text = covered.dump();
    if (document.contains("descriptions"))
      for (const auto& [database, description] : document.at("descriptions").items())
        m.descriptions[database] = description_from_json(description);
    return m;
  } catch (const json::exception& e) {
    throw Error(ErrorKind::integrity, std::string("manifest is incomplete: ") + e.what());
  }
}

}  // namespace dbkeeper
