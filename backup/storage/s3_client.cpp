#include "backup/storage/s3_client.h"

#include <curl/curl.h>

#include <cstring>
#include <ctime>
#include <functional>
#include <mutex>
#include <random>
#include <thread>

#include "backup/pipeline/sha256_sink.h"
#include "backup/storage/aws_signature.h"
#include "core/error.h"
#include "core/stop_request.h"

namespace dbkeeper {
namespace {

void initialise_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct CurlHandle {
  CURL* curl = curl_easy_init();
  curl_slist* headers = nullptr;
  ~CurlHandle() {
    curl_slist_free_all(headers);
    if (curl) curl_easy_cleanup(curl);
  }
};

std::string amz_date_now() {
  std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y%m%dT%H%M%SZ", &utc);
  return text;
}

std::string lower(std::string text) {
  for (auto& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

std::string xml_unescape(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '&') {
      out += text[i];
      continue;
    }
    auto end = text.find(';', i);
    if (end == std::string_view::npos) {
      out += text.substr(i);
      break;
    }
    auto entity = text.substr(i + 1, end - i - 1);
    if (entity == "amp")
      out += '&';
    else if (entity == "lt")
      out += '<';
    else if (entity == "gt")
      out += '>';
    else if (entity == "quot")
      out += '"';
    else if (entity == "apos")
      out += '\'';
    else if (entity.size() > 1 && entity[0] == '#') {
      unsigned long code = entity[1] == 'x' ? std::stoul(std::string(entity.substr(2)), nullptr, 16)
                                            : std::stoul(std::string(entity.substr(1)));
      // UTF-8 of the code point.
      if (code < 0x80) {
        out += static_cast<char>(code);
      } else if (code < 0x800) {
        out += static_cast<char>(0xC0 | (code >> 6));
        out += static_cast<char>(0x80 | (code & 0x3F));
      } else if (code < 0x10000) {
        out += static_cast<char>(0xE0 | (code >> 12));
        out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (code & 0x3F));
      } else {
        out += static_cast<char>(0xF0 | (code >> 18));
        out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (code & 0x3F));
      }
    } else {
      out += text.substr(i, end - i + 1);
    }
    i = end;
  }
  return out;
}

bool retryable_status(long status) {
  return status >= 500 || status == 408 || status == 429;
}

bool retryable_transport(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2: return true;
    default: return false;
  }
}

struct Transfer {
  const S3Request* request;
  std::size_t sent = 0;
  std::uint64_t delivered = 0;  // bytes given to response_sink, over all attempts
  std::uint64_t skip = 0;       // bytes of this attempt's body already delivered by an earlier one
  long status = 0;
  CURL* curl = nullptr;
  std::string body;
  std::map<std::string, std::string> headers;
};

std::size_t on_read(char* buffer, std::size_t size, std::size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  auto body = transfer->request->body;
  std::size_t n = std::min(size * count, body.size() - transfer->sent);
  std::memcpy(buffer, body.data() + transfer->sent, n);
  transfer->sent += n;
  return n;
}

std::size_t on_header(char* buffer, std::size_t size, std::size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  std::string_view line(buffer, size * count);
  auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name = lower(std::string(line.substr(0, colon)));
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
      value.remove_suffix(1);
    transfer->headers[name] = std::string(value);
  }
  return size * count;
}

std::size_t on_write(char* buffer, std::size_t size, std::size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  std::size_t n = size * count;
  if (transfer->status == 0) curl_easy_getinfo(transfer->curl, CURLINFO_RESPONSE_CODE, &transfer->status);
  bool success = transfer->status >= 200 && transfer->status < 300;
  if (!success || !transfer->request->response_sink) {
    // Answers kept in memory are listings and error documents: bounded.
    constexpr std::size_t k_limit = 16 * 1024 * 1024;
    if (transfer->body.size() + n > k_limit) return 0;
    transfer->body.append(buffer, n);
    return n;
  }
  std::string_view data(buffer, n);
  if (transfer->skip > 0) {
    auto skipped = std::min<std::uint64_t>(transfer->skip, data.size());
    data.remove_prefix(skipped);
    transfer->skip -= skipped;
  }
  try {
    if (!data.empty()) transfer->request->response_sink->write(std::as_bytes(std::span(data.data(), data.size())));
  } catch (...) {
    return 0;  // aborts the transfer; the sink's error is rethrown below
  }
  transfer->delivered += data.size();
  return n;
}

std::mutex g_counts_mutex;
std::map<std::string, S3RequestCounts> g_counts;

void count(const std::string& repository, const std::function<void(S3RequestCounts&)>& change) {
  std::lock_guard lock(g_counts_mutex);
  change(g_counts[repository.empty() ? std::string("unnamed") : repository]);
}

std::string error_reason(CURLcode code, long status) {
  if (code == CURLE_OPERATION_TIMEDOUT) return "timeout";
  if (code == CURLE_SSL_CONNECT_ERROR || code == CURLE_PEER_FAILED_VERIFICATION) return "tls";
  if (code != CURLE_OK) return "connection";
  if (status == 403) return "denied";
  if (status == 404) return "not_found";
  if (status == 429 || status == 503) return "throttled";
  return status >= 500 ? "http_5xx" : "http_4xx";
}

int on_progress(void*, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return stop_requested() ? 1 : 0;
}

}  // namespace

S3Client::S3Client(S3Settings settings) : m_settings(std::move(settings)) {
  initialise_curl_once();
  while (!m_settings.endpoint.empty() && m_settings.endpoint.back() == '/') m_settings.endpoint.pop_back();
}

std::string S3Client::describe() const {
  std::string where = "s3://" + m_settings.bucket + (m_settings.prefix.empty() ? "" : "/" + m_settings.prefix) +
                      " at " + m_settings.endpoint;
  return m_settings.name.empty() ? where : "'" + m_settings.name + "' (" + where + ")";
}

std::map<std::string, S3RequestCounts> s3_request_counts() {
  std::lock_guard lock(g_counts_mutex);
  return g_counts;
}

S3Response S3Client::send(const S3Request& request) const {
  auto scheme_end = m_settings.endpoint.find("://");
  if (scheme_end == std::string::npos)
    throw Error(ErrorKind::config, "repository " + describe() + ": endpoint must start with http:// or https://");
  std::string scheme = m_settings.endpoint.substr(0, scheme_end);
  std::string authority = m_settings.endpoint.substr(scheme_end + 3);
  std::string path = "/" + aws_uri_encode(request.key, true);
  std::string host = authority;
  if (m_settings.path_style)
    path = "/" + m_settings.bucket + (request.key.empty() ? "" : path);
  else
    host = m_settings.bucket + "." + authority;
  std::string query = aws_canonical_query(request.query);
  std::string url = scheme + "://" + host + path + (query.empty() ? "" : "?" + query);
  std::string payload_hash =
      sha256_hex(std::string_view(reinterpret_cast<const char*>(request.body.data()), request.body.size()));
  std::string what = request.operation + (request.key.empty() ? "" : " of '" + request.key + "'");

  std::mt19937_64 jitter(std::random_device{}());
  auto delay = m_settings.first_retry_delay;
  Transfer transfer{&request};
  for (int attempt = 1;; ++attempt) {
    CurlHandle handle;
    if (!handle.curl) throw Error(ErrorKind::internal, "curl_easy_init failed");
    transfer.sent = 0;
    transfer.status = 0;
    transfer.body.clear();
    transfer.headers.clear();
    transfer.curl = handle.curl;
    transfer.skip = 0;

    std::map<std::string, std::string> signed_headers = request.headers;
    signed_headers["host"] = host;
    signed_headers["x-amz-date"] = amz_date_now();
    signed_headers["x-amz-content-sha256"] = payload_hash;
    // A GET that an earlier attempt delivered part of resumes where it stopped.
    if (request.response_sink && transfer.delivered > 0)
      signed_headers["range"] = "bytes=" + std::to_string(transfer.delivered) + "-";
    AwsRequestToSign to_sign{request.method,   path, query, signed_headers, payload_hash, signed_headers["x-amz-date"],
                             m_settings.region};
    std::string authorization = aws_authorization(to_sign, m_settings.access_key, m_settings.secret_key.reveal());
    for (const auto& [name, value] : signed_headers)
      handle.headers = curl_slist_append(handle.headers, (name + ": " + value).c_str());
    handle.headers = curl_slist_append(handle.headers, ("authorization: " + authorization).c_str());
    // Unsigned, as it must be: no "100-continue" round trip.
    handle.headers = curl_slist_append(handle.headers, "Expect:");

    CURL* curl = handle.curl;
    // curl's own account ("no alternative certificate subject name matches
    // target host name '…'") says more than the code's generic text.
    char detail[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, detail);
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, handle.headers);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, static_cast<long>(m_settings.request_timeout.count()));
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, m_settings.verify_tls ? 1L : 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, m_settings.verify_tls ? 2L : 0L);
    if (!m_settings.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, m_settings.ca_file.c_str());
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
    if (request.method == "HEAD") {
      curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    } else if (request.method == "PUT" || request.method == "POST") {
      curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(curl, CURLOPT_READFUNCTION, on_read);
      curl_easy_setopt(curl, CURLOPT_READDATA, &transfer);
      curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
      if (request.method == "POST") curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "POST");
    } else if (request.method != "GET") {
      curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }
    std::uint64_t delivered_before = transfer.delivered;
    CURLcode code = curl_easy_perform(curl);
    count(m_settings.name, [&](S3RequestCounts& counts) {
      ++counts.requests;
      if (attempt > 1) ++counts.retries;
    });
    if (code == CURLE_ABORTED_BY_CALLBACK)
      throw Error(ErrorKind::process, "repository " + describe() + ": " + what + " interrupted");
    if (code == CURLE_WRITE_ERROR && request.response_sink && transfer.status >= 200 && transfer.status < 300)
      throw Error(ErrorKind::io, "repository " + describe() + ": " + what + ": the data read could not be stored");
    if (code == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &transfer.status);
    // A 206 after a resumed GET is the rest; a 200 would start over.
    if (code == CURLE_OK && transfer.status == 200 && delivered_before > 0 && request.response_sink)
      throw Error(ErrorKind::io, "repository " + describe() + ": " + what + ": the store ignored the resume range");
    if (code == CURLE_OK && transfer.status >= 200 && transfer.status < 300) {
      count(m_settings.name, [&](S3RequestCounts& counts) { counts.upload_bytes += request.body.size(); });
      if (request.response_sink) request.response_sink->finish();
      return S3Response{transfer.status, std::move(transfer.headers), std::move(transfer.body)};
    }
    std::string problem;
    if (code != CURLE_OK) {
      problem = detail[0] != '\0' ? std::string(detail) : std::string(curl_easy_strerror(code));
    } else {
      auto codes = xml_elements(transfer.body, "Code");
      auto messages = xml_elements(transfer.body, "Message");
      problem = "HTTP " + std::to_string(transfer.status);
      if (!codes.empty()) problem += " " + codes.front();
      if (!messages.empty() && !messages.front().empty()) problem += ": " + messages.front();
    }
    // A HEAD that finds nothing is an answer (stat), not a failure.
    if (!(request.method == "HEAD" && transfer.status == 404))
      count(m_settings.name, [&](S3RequestCounts& counts) { ++counts.errors[error_reason(code, transfer.status)]; });
    bool retry = code != CURLE_OK ? retryable_transport(code) : retryable_status(transfer.status);
    if (!retry || attempt >= m_settings.max_attempts) {
      std::string message = "repository " + describe() + ": " + what + " failed" +
                            (attempt > 1 ? " after " + std::to_string(attempt) + " attempts" : "") + ": " + problem;
      if (transfer.status == 403) throw Error(ErrorKind::config, message + " (check the access key and the secret)");
      if (transfer.status == 404) throw Error(ErrorKind::config, message + " (not found)");
      throw Error(ErrorKind::io, message);
    }
    // Exponential backoff with full jitter.
    auto wait =
        std::chrono::milliseconds(std::uniform_int_distribution<long>(delay.count() / 2, delay.count())(jitter));
    std::this_thread::sleep_for(wait);
    delay = std::min(delay * 2, std::chrono::milliseconds(20000));
  }
}

std::vector<std::string> xml_elements(std::string_view xml, std::string_view tag, bool decode) {
  std::vector<std::string> found;
  std::string open = "<" + std::string(tag) + ">";
  std::string close = "</" + std::string(tag) + ">";
  for (std::size_t at = 0;;) {
    auto start = xml.find(open, at);
    if (start == std::string_view::npos) break;
    start += open.size();
    auto end = xml.find(close, start);
    if (end == std::string_view::npos) break;
    auto inner = xml.substr(start, end - start);
    found.push_back(decode ? xml_unescape(inner) : std::string(inner));
    at = end + close.size();
  }
  return found;
}

}  // namespace dbkeeper
