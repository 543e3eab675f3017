#pragma once
// Collects the accounts that DEFINER clauses of a mariadb-dump stream name
// (views, triggers, routines, events), as the stream passes. A scratch
// instance must have them: MariaDB refuses a view or trigger whose definer
// does not exist when it has to act as that definer. Constant memory apart
// from the accounts found.

#include <set>
#include <string>
#include <utility>

#include "backup/pipeline/byte_sink.h"

namespace dbkeeper {

class MysqlDefinerScanner final : public ByteSink {
 public:
  void write(std::span<const std::byte> data) override;
  void finish() override;

  // (user, host), unquoted.
  const std::set<std::pair<std::string, std::string>>& definers() const { return m_definers; }

 private:
  void scan(bool final);

  std::string m_pending;  // unscanned bytes: a clause that may continue in the next write
  std::set<std::pair<std::string, std::string>> m_definers;
};

}  // namespace dbkeeper
