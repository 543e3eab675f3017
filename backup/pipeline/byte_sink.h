#pragma once
// A stage of the backup pipeline. Bytes flow through a chain of sinks in one
// pass: dump tool stdout -> zstd -> sha256 -> [encrypt] -> file. Every stage
// works on fixed-size buffers, so memory does not grow with the database.

#include <cstddef>
#include <span>

namespace dbkeeper {

class ByteSink {
 public:
  virtual ~ByteSink() = default;
  // Consumes all of `data`; throws Error on failure.
  virtual void write(std::span<const std::byte> data) = 0;
  // Flushes what is buffered and finishes the stream (and the next stage's).
  virtual void finish() = 0;
};

// Counts bytes and passes them on (or drops them when `next` is null).
class CountingSink final : public ByteSink {
 public:
  explicit CountingSink(ByteSink* next = nullptr) : m_next(next) {}
  void write(std::span<const std::byte> data) override {
    m_bytes += data.size();
    if (m_next) m_next->write(data);
  }
  void finish() override {
    if (m_next) m_next->finish();
  }
  std::size_t bytes() const { return m_bytes; }

 private:
  ByteSink* m_next;
  std::size_t m_bytes = 0;
};

}  // namespace dbkeeper
