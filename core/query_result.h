#pragma once
// Rows returned by a statement, as text, independent of the client library.

#include <optional>
#include <string>
#include <vector>

namespace dbkeeper {

using SqlValue = std::optional<std::string>;  // nullopt is SQL NULL

struct QueryResult {
  std::vector<std::string> columns;
  std::vector<std::vector<SqlValue>> rows;

  bool empty() const { return rows.empty(); }
  // The single value of a one-row, one-column result; throws Error{query} otherwise.
  SqlValue scalar() const;
};

}  // namespace dbkeeper
