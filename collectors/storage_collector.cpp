#include "collectors/storage_collector.h"

#include "backup/storage/s3_client.h"
#include "collectors/metric_family_builder.h"

namespace dbkeeper {
namespace {

class StorageCollector final : public Collector {
 public:
  void refresh() override {}

  std::vector<prometheus::MetricFamily> collect() const override {
    auto counts = s3_request_counts();
    if (counts.empty()) return {};
    auto requests = make_family("storage_requests_total", "Requests to the object store, retries included.",
                                prometheus::MetricType::Counter);
    auto retries = make_family("storage_request_retries_total", "Requests sent again after a retryable failure.",
                               prometheus::MetricType::Counter);
    auto errors = make_family("storage_request_errors_total",
                              "Failed request attempts by reason (connection, timeout, tls, denied, not_found, "
                              "throttled, http_4xx, http_5xx).",
                              prometheus::MetricType::Counter);
    auto uploaded = make_family("storage_upload_bytes_total", "Request bodies the object store accepted.",
                                prometheus::MetricType::Counter);
    for (const auto& [repository, count] : counts) {
      add_counter(requests, {{"repository", repository}}, static_cast<double>(count.requests));
      add_counter(retries, {{"repository", repository}}, static_cast<double>(count.retries));
      add_counter(uploaded, {{"repository", repository}}, static_cast<double>(count.upload_bytes));
      for (const auto& [reason, n] : count.errors)
        add_counter(errors, {{"repository", repository}, {"reason", reason}}, static_cast<double>(n));
    }
    return {requests, retries, errors, uploaded};
  }
};

}  // namespace

std::unique_ptr<Collector> make_storage_collector(const CollectorContext&) {
  return std::make_unique<StorageCollector>();
}

}  // namespace dbkeeper
