#include "core/query_result.h"

#include "core/error.h"

namespace dbkeeper {

SqlValue QueryResult::scalar() const {
  if (rows.size() != 1 || rows.front().size() != 1)
    throw Error(ErrorKind::query, "expected one value, got " + std::to_string(rows.size()) + " rows");
  return rows.front().front();
}

}  // namespace dbkeeper
