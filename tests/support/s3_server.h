#pragma once
// A real S3 server for tests: Ceph radosgw on a single-node cluster (one
// monitor, one OSD on memstore), all in a temporary directory on loopback
// ports, with one user whose keys the tests use. Started once per test
// binary and always stopped. Recipe: ../shared/notes/real-components.md.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "backup/storage/s3_settings.h"
#include "core/child_process.h"
#include "core/temp_dir.h"

namespace dbkeeper::testing {

inline constexpr const char* k_s3_access_key = "DBKEEPERTESTKEY";
inline constexpr const char* k_s3_secret_key = "s3cr3t-Test-K3y-0f-dbkeeper-2026";
// The one bucket the TLS certificate names for virtual-host addressing.
inline constexpr const char* k_s3_vhost_bucket = "dbkeeper-vhost";

class S3Server {
 public:
  S3Server();
  ~S3Server();
  void start();
  void stop();
  // radosgw only (the cluster stays): the store "goes away" and comes back.
  void stop_gateway();
  void start_gateway();
  bool gateway_running() const { return m_gateway.has_value(); }

  unsigned port() const { return m_rgw_port; }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(m_rgw_port); }
  // The same gateway over TLS, with a certificate for localhost and for
  // k_s3_vhost_bucket.localhost (virtual-host addressing) signed by ca_file().
  std::string tls_endpoint() const { return "https://localhost:" + std::to_string(m_tls_port); }
  std::filesystem::path ca_file() const { return m_dir.path() / "tls" / "ca.pem"; }
  // Settings for `bucket` (created by the caller), with the test user's keys.
  S3Settings settings(const std::string& bucket, const std::string& prefix = "") const;

 private:
  std::vector<std::string> ceph(std::vector<std::string> arguments) const;
  void run(std::vector<std::string> argv, const std::string& what) const;
  void make_certificates() const;

  TempDir m_dir;
  unsigned m_mon_port;
  unsigned m_rgw_port;
  unsigned m_tls_port;
  std::vector<ChildProcess> m_daemons;
  std::optional<ChildProcess> m_gateway;
};

// The server of this test binary (started by the environment below).
S3Server& s3_server();
void add_s3_server_environment();

// A port below the ephemeral range that nothing listens on.
unsigned free_low_port();

}  // namespace dbkeeper::testing
