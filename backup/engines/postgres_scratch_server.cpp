#include "backup/engines/postgres_scratch_server.h"

#include "core/error.h"

namespace dbkeeper {
namespace {

// The socket's port number: only its file name (.s.PGSQL.N) depends on it,
// in a directory of the instance's own.
constexpr unsigned k_socket_port = 5432;

class PostgresScratchServer final : public ScratchServerRecipe {
 public:
  PostgresScratchServer(std::filesystem::path bin, std::string version, int parallel)
      : m_bin(std::move(bin)), m_version(std::move(version)), m_parallel(parallel) {}

  std::string description() const override { return "postgres " + m_version; }

  std::vector<ProcessSpec> initialise(const std::filesystem::path& directory) const override {
    return {ProcessSpec{.argv = {(m_bin / "initdb").string(), "--pgdata=" + (directory / "data").string(),
                                 "--username=" + std::string(k_scratch_superuser), "--auth=trust", "--encoding=UTF8",
                                 "--locale=C.UTF-8", "--no-sync", "--no-instructions"}}};
  }

  ProcessSpec server(const std::filesystem::path& directory) const override {
    std::vector<std::string> argv{
        (m_bin / "postgres").string(), "-D", (directory / "data").string(), "-k", directory.string(), "-p",
        std::to_string(k_socket_port)};
    for (const std::string& setting : std::vector<std::string>{
             "listen_addresses=", "unix_socket_permissions=0700",
             // Nothing leaves the instance and nothing in it needs to survive a crash.
             "wal_level=minimal", "max_wal_senders=0", "archive_mode=off", "fsync=off", "full_page_writes=off",
             "synchronous_commit=off", "autovacuum=off", "shared_buffers=64MB", "max_wal_size=1GB",
             "max_connections=" + std::to_string(std::max(1, m_parallel) + 10)}) {
      argv.emplace_back("-c");
      argv.push_back(setting);
    }
    return ProcessSpec{.argv = argv,
                       .stdout_to = ProcessOutput::to_file(log_file(directory)),
                       .stderr_to = ProcessOutput::to_file(log_file(directory))};
  }

  std::filesystem::path log_file(const std::filesystem::path& directory) const override {
    return directory / "postgres.log";
  }

  Target connection(const Target& production, const std::filesystem::path& directory) const override {
    Target instance = production;
    instance.host.clear();
    instance.socket = directory.string();
    instance.port = k_socket_port;
    instance.user = k_scratch_superuser;
    instance.password = Secret();
    // Its databases are the ones a restore creates; connect to "postgres".
    instance.databases.clear();
    return instance;
  }

  // initdb and postgres refuse to run as root.
  std::string account_when_root() const override { return "postgres"; }

 private:
  std::filesystem::path m_bin;
  std::string m_version;
  int m_parallel;
};

}  // namespace

std::unique_ptr<ScratchServerRecipe> postgres_scratch_server(PostgresConnection& connection, int parallel) {
  int major =
      std::stoi(connection.query("SELECT current_setting('server_version_num')").scalar().value_or("0")) / 10000;
  std::filesystem::path bin = "/usr/lib/postgresql/" + std::to_string(major) + "/bin";
  for (const char* program : {"initdb", "postgres"})
    if (!std::filesystem::exists(bin / program))
      throw Error(ErrorKind::process, "no PostgreSQL " + std::to_string(major) + " server on this host (" +
                                          (bin / program).string() + " is missing; install postgresql-" +
                                          std::to_string(major) + " for scratch instances)");
  return std::make_unique<PostgresScratchServer>(bin, connection.server_version(), parallel);
}

}  // namespace dbkeeper
