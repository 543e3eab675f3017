#include "backup/engines/mysql_scratch_server.h"

#include <unistd.h>

#include <regex>

#include "backup/dump_stream.h"
#include "backup/engines/mysql_definer_scanner.h"
#include "backup/engines/mysql_engine.h"
#include "core/error.h"

namespace dbkeeper {
namespace {

// "10.11.6-MariaDB-0+deb12u1-log" -> "10.11"; empty when unreadable.
std::string major_minor(const std::string& version) {
  std::smatch match;
  static const std::regex pattern(R"((\d+)\.(\d+)\.)");
  if (!std::regex_search(version, match, pattern)) return {};
  return match[1].str() + "." + match[2].str();
}

class MariaDbScratchServer final : public ScratchServerRecipe {
 public:
  MariaDbScratchServer(std::filesystem::path server, std::filesystem::path install, std::string version,
                       std::string lower_case_table_names)
      : m_server(std::move(server)),
        m_install(std::move(install)),
        m_version(std::move(version)),
        m_lower_case_table_names(std::move(lower_case_table_names)) {}

  std::string description() const override { return "mariadbd " + m_version; }

  std::vector<ProcessSpec> initialise(const std::filesystem::path& directory) const override {
    std::vector<std::string> argv{m_install.string(),
                                  "--no-defaults",
                                  "--datadir=" + (directory / "data").string(),
                                  "--auth-root-authentication-method=normal",
                                  "--skip-test-db",
                                  "--skip-name-resolve",
                                  "--lower-case-table-names=" + m_lower_case_table_names};
    if (::geteuid() == 0) argv.emplace_back("--user=root");
    return {ProcessSpec{.argv = argv}};
  }

  ProcessSpec server(const std::filesystem::path& directory) const override {
    std::vector<std::string> argv{
        m_server.string(), "--no-defaults", "--datadir=" + (directory / "data").string(),
        "--socket=" + socket(directory).string(), "--skip-networking",
        "--pid-file=" + (directory / "mariadbd.pid").string(), "--log-error=" + log_file(directory).string(),
        // Names compare as they do in production.
        "--lower-case-table-names=" + m_lower_case_table_names,
        // A row as large as production allows must load.
        "--max-allowed-packet=1G",
        // Small, and fast where durability does not matter: the data is thrown away.
        "--innodb-buffer-pool-size=128M", "--innodb-log-file-size=64M", "--innodb-flush-log-at-trx-commit=0",
        "--innodb-doublewrite=0", "--performance-schema=OFF", "--skip-name-resolve"};
    if (::geteuid() == 0) argv.emplace_back("--user=root");
    return ProcessSpec{.argv = argv, .stdout_to = ProcessOutput::null(), .stderr_to = ProcessOutput::null()};
  }

  std::filesystem::path log_file(const std::filesystem::path& directory) const override {
    return directory / "error.log";
  }

  Target connection(const Target& production, const std::filesystem::path& directory) const override {
    Target instance = production;
    instance.host.clear();
    instance.port = 0;
    instance.socket = socket(directory).string();
    instance.user = "root";
    instance.password = Secret();
    return instance;
  }

  std::string account_when_root() const override { return {}; }

 private:
  static std::filesystem::path socket(const std::filesystem::path& directory) { return directory / "mysqld.sock"; }

  std::filesystem::path m_server;
  std::filesystem::path m_install;
  std::string m_version;
  std::string m_lower_case_table_names;
};

}  // namespace

std::unique_ptr<ScratchServerRecipe> mysql_scratch_server(MysqlConnection& connection) {
  std::string version = connection.query("SELECT VERSION()").scalar().value_or("");
  if (version.find("MariaDB") == std::string::npos)
    throw Error(ErrorKind::process,
                "scratch instances are made for MariaDB servers only, and this is MySQL " + version);
  auto server = find_executable("mariadbd");
  auto install = find_executable("mariadb-install-db");
  if (!server || !install)
    throw Error(ErrorKind::process, "no MariaDB server is installed on this host (install mariadb-server " +
                                        major_minor(version) + " for scratch instances)");
  auto local = run_process(ProcessSpec{.argv = {server->string(), "--version"}}, std::chrono::seconds(30));
  // "mariadbd  Ver 10.11.6-MariaDB-0+deb12u1 for debian-linux-gnu on x86_64"
  std::string local_version = major_minor(local.stdout_text);
  if (local_version.empty() || local_version != major_minor(version))
    throw Error(ErrorKind::process, "the MariaDB server on this host is " +
                                        (local_version.empty() ? std::string("of an unknown version") : local_version) +
                                        ", the target runs " + major_minor(version) +
                                        ": a scratch instance must be of the server's version");
  std::string lower_case = connection.query("SELECT @@GLOBAL.lower_case_table_names").scalar().value_or("0");
  auto words = local.stdout_text.find("Ver ");
  std::string full_version =
      words == std::string::npos
          ? local_version
          : local.stdout_text.substr(words + 4, local.stdout_text.find(' ', words + 4) - words - 4);
  return std::make_unique<MariaDbScratchServer>(*server, *install, full_version, lower_case);
}

void create_definer_accounts(const Target& instance, const std::vector<ArtifactRecord>& artifacts,
                             const std::filesystem::path& directory) {
  MysqlDefinerScanner scanner;
  for (const auto& artifact : artifacts)
    if (artifact.format == "sql")
      check_artifact(directory / artifact.name, artifact, decryption_keys(instance), &scanner);
  if (scanner.definers().empty()) return;
  auto connection = MysqlConnection::connect(mysql_connect_options(instance));
  for (const auto& [user, host] : scanner.definers()) {
    std::string account = connection.quote_string(user) + "@" + connection.quote_string(host);
    // Locked: nobody logs in as it; it exists so its objects can be created and run.
    connection.execute("CREATE USER IF NOT EXISTS " + account + " ACCOUNT LOCK");
    connection.execute("GRANT ALL PRIVILEGES ON *.* TO " + account);
  }
}

}  // namespace dbkeeper
