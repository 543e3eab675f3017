#include "tests/support/s3_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "core/error.h"
#include "core/file_tail.h"
#include "core/unique_fd.h"
#include "tests/support/http_get.h"

namespace dbkeeper::testing {
namespace {

using namespace std::chrono_literals;

std::string uuid() {
  std::ifstream in("/proc/sys/kernel/random/uuid");
  std::string text;
  std::getline(in, text);
  return text;
}

}  // namespace

unsigned free_low_port() {
  std::mt19937 random(std::random_device{}());
  for (int attempt = 0; attempt < 200; ++attempt) {
    unsigned port = std::uniform_int_distribution<unsigned>(20000, 32000)(random);
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<uint16_t>(port));
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) return port;
  }
  throw Error(ErrorKind::internal, "no free loopback port below 32000");
}

S3Server::S3Server()
    : m_dir(std::filesystem::temp_directory_path(), "dbkeeper-s3-"),
      m_mon_port(free_low_port()),
      m_rgw_port(free_low_port()),
      m_tls_port(free_low_port()) {}

S3Server::~S3Server() {
  try {
    stop();
  } catch (...) {
  }
}

void S3Server::run(std::vector<std::string> argv, const std::string& what) const {
  auto result = run_process(ProcessSpec{.argv = std::move(argv)}, 2min);
  if (!result.status.success())
    throw Error(ErrorKind::process,
                what + " " + result.status.describe() + ": " + result.stderr_text + "\n" + result.stdout_text);
}

std::vector<std::string> S3Server::ceph(std::vector<std::string> arguments) const {
  std::vector<std::string> argv{"ceph", "-c", (m_dir.path() / "ceph.conf").string(), "--connect-timeout", "10"};
  argv.insert(argv.end(), arguments.begin(), arguments.end());
  return argv;
}

// A test CA and the gateway's certificate, made with the openssl tool.
void S3Server::make_certificates() const {
  auto tls = m_dir.path() / "tls";
  std::filesystem::create_directories(tls);
  std::ofstream(tls / "san.cnf") << "subjectAltName = DNS:localhost, DNS:" << k_s3_vhost_bucket
                                 << ".localhost, IP:127.0.0.1\n";
  run({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", (tls / "ca.key").string(), "-out",
       (tls / "ca.pem").string(), "-days", "2", "-subj", "/CN=dbkeeper test CA"},
      "openssl (CA)");
  run({"openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", (tls / "server.key").string(), "-out",
       (tls / "server.csr").string(), "-subj", "/CN=localhost"},
      "openssl (request)");
  run({"openssl", "x509", "-req", "-in", (tls / "server.csr").string(), "-CA", (tls / "ca.pem").string(), "-CAkey",
       (tls / "ca.key").string(), "-CAcreateserial", "-out", (tls / "server.pem").string(), "-days", "2", "-extfile",
       (tls / "san.cnf").string()},
      "openssl (certificate)");
}

void S3Server::start() {
  const auto& d = m_dir.path();
  for (const char* sub : {"run", "log", "mon", "osd", "rgw"}) std::filesystem::create_directories(d / sub);
  make_certificates();
  std::string fsid = uuid();
  auto conf = d / "ceph.conf";
  std::ofstream(conf) << "[global]\nfsid = " << fsid << "\nmon host = v2:127.0.0.1:" << m_mon_port
                      << "\npublic addr = 127.0.0.1\nms bind ipv6 = false\n"
                      << "auth cluster required = none\nauth service required = none\nauth client required = none\n"
                      << "run dir = " << (d / "run").string() << "\nadmin socket = " << (d / "run").string()
                      << "/$name.asok\npid file = " << (d / "run").string()
                      << "/$name.pid\nlog file = " << (d / "log").string()
                      << "/$name.log\nmon data = " << (d / "mon").string()
                      << "/$cluster-$id\nosd data = " << (d / "osd").string() << "/$cluster-$id\n"
                      << "osd pool default size = 1\nosd pool default min size = 1\n"
                      << "osd pool default pg num = 8\nosd pool default pgp num = 8\n"
                      << "osd pool default pg autoscale mode = off\nmon allow pool size one = true\n"
                      << "osd crush chooseleaf type = 0\nmon warn on pool no redundancy = false\n"
                      << "mon data avail warn = 2\n"
                      << "[osd]\nosd objectstore = memstore\nmemstore device bytes = 3221225472\n"
                      << "osd op num shards = 1\n"
                      << "[client.rgw.0]\nrgw frontends = beast endpoint=127.0.0.1:" << m_rgw_port
                      << " ssl_endpoint=127.0.0.1:" << m_tls_port
                      << " ssl_certificate=" << (d / "tls" / "server.pem").string() << " ssl_private_key="
                      << (d / "tls" / "server.key").string()
                      // Host: <bucket>.localhost is virtual-host addressing.
                      << "\nrgw dns name = localhost"
                      << "\nrgw data = " << (d / "rgw").string()
                      << "\nrgw gc obj min wait = 10\nrgw gc processor period = 10\n"
                      // Without these radosgw never listens (get_initial_auth_request returned -13).
                      << "auth client required = none\nms mon client mode = crc\n";
  std::string config = "--conf=" + conf.string();
  run({"monmaptool", "--create", "--fsid", fsid, "--addv", "a", "[v2:127.0.0.1:" + std::to_string(m_mon_port) + "]",
       (d / "monmap").string()},
      "monmaptool");
  run({"ceph-authtool", "--create-keyring", (d / "keyring").string(), "--gen-key", "-n", "mon.", "--cap", "mon",
       "allow *"},
      "ceph-authtool");
  run({"ceph-mon", config, "-i", "a", "--mkfs", "--monmap", (d / "monmap").string(), "--keyring",
       (d / "keyring").string()},
      "ceph-mon --mkfs");
  // Foreground (-f), so the daemons are our children and stop with us.
  m_daemons.push_back(ChildProcess::start(ProcessSpec{.argv = {"ceph-mon", config, "-i", "a", "-f"},
                                                      .stdout_to = ProcessOutput::null(),
                                                      .stderr_to = ProcessOutput::to_file(d / "log" / "mon.out")}));
  std::string osd_uuid = uuid();
  auto created = run_process(ProcessSpec{.argv = ceph({"osd", "new", osd_uuid})}, 2min);
  if (!created.status.success())
    throw Error(ErrorKind::process, "ceph osd new: " + created.stderr_text + "\n" + file_tail(d / "log" / "mon.a.log"));
  std::string id = created.stdout_text.substr(0, created.stdout_text.find_first_of("\n "));
  std::filesystem::create_directories(d / "osd" / ("ceph-" + id));
  run({"ceph-osd", config, "-i", id, "--mkfs", "--osd-uuid", osd_uuid}, "ceph-osd --mkfs");
  m_daemons.push_back(ChildProcess::start(ProcessSpec{.argv = {"ceph-osd", config, "-i", id, "-f"},
                                                      .stdout_to = ProcessOutput::null(),
                                                      .stderr_to = ProcessOutput::to_file(d / "log" / "osd.out")}));
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (true) {
    auto dump = run_process(ProcessSpec{.argv = ceph({"osd", "dump"})}, 30s);
    if (dump.stdout_text.find("osd." + id + " up") != std::string::npos) break;
    if (std::chrono::steady_clock::now() > deadline)
      throw Error(ErrorKind::timeout, "the OSD did not come up:\n" + file_tail(d / "log" / ("osd." + id + ".log")));
    std::this_thread::sleep_for(250ms);
  }
  start_gateway();
  run({"radosgw-admin", config, "user", "create", "--uid=dbkeeper-tests", "--display-name=dbkeeper tests",
       std::string("--access-key=") + k_s3_access_key, std::string("--secret-key=") + k_s3_secret_key},
      "radosgw-admin user create");
}

void S3Server::start_gateway() {
  if (m_gateway) return;
  const auto& d = m_dir.path();
  m_gateway = ChildProcess::start(
      ProcessSpec{.argv = {"radosgw", "--conf=" + (d / "ceph.conf").string(), "-n", "client.rgw.0", "-f"},
                  .stdout_to = ProcessOutput::null(),
                  .stderr_to = ProcessOutput::to_file(d / "log" / "rgw.out")});
  auto deadline = std::chrono::steady_clock::now() + 90s;
  while (true) {
    if (auto status = m_gateway->wait_for(0ms))
      throw Error(ErrorKind::process, "radosgw " + status->describe() + ":\n" + file_tail(d / "log" / "rgw.out"));
    try {
      if (http_get(m_rgw_port, "/", 2s).status == 200) return;
    } catch (const Error&) {
    }
    if (std::chrono::steady_clock::now() > deadline)
      throw Error(ErrorKind::timeout,
                  "radosgw did not answer within 90 s:\n" + file_tail(d / "log" / "client.rgw.0.log"));
    std::this_thread::sleep_for(100ms);
  }
}

void S3Server::stop_gateway() {
  if (!m_gateway) return;
  m_gateway->terminate(5s, SIGTERM);
  m_gateway.reset();
}

void S3Server::stop() {
  stop_gateway();
  for (auto it = m_daemons.rbegin(); it != m_daemons.rend(); ++it) it->terminate(2s, SIGTERM);
  m_daemons.clear();
}

S3Settings S3Server::settings(const std::string& bucket, const std::string& prefix) const {
  S3Settings settings;
  settings.endpoint = endpoint();
  settings.bucket = bucket;
  settings.prefix = prefix;
  settings.access_key = k_s3_access_key;
  settings.secret_key = Secret(k_s3_secret_key);
  settings.part_size = 5 * 1024 * 1024;
  settings.first_retry_delay = std::chrono::milliseconds(50);
  return settings;
}

namespace {

std::unique_ptr<S3Server> g_server;

class S3ServerEnvironment final : public ::testing::Environment {
 public:
  void SetUp() override {
    try {
      g_server = std::make_unique<S3Server>();
      g_server->start();
    } catch (const std::exception& e) {
      FAIL() << "starting radosgw failed: " << e.what();
    }
  }
  void TearDown() override { g_server.reset(); }
};

}  // namespace

S3Server& s3_server() {
  if (!g_server) throw Error(ErrorKind::internal, "the S3 server is not running; call add_s3_server_environment()");
  return *g_server;
}

void add_s3_server_environment() {
  ::testing::AddGlobalTestEnvironment(new S3ServerEnvironment);
}

}  // namespace dbkeeper::testing
