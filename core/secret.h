#pragma once
// A password or token. It has no stream or format operator on purpose: the
// only way to the text is reveal(), which makes every use visible in review.

#include <string>
#include <utility>

namespace dbkeeper {

class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string value) : m_value(std::move(value)) {}

  const std::string& reveal() const { return m_value; }
  bool empty() const { return m_value.empty(); }

 private:
  std::string m_value;
};

}  // namespace dbkeeper
