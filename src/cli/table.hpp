#pragma once

#include <string>
#include <vector>

namespace mailtrack::cli {

// A plain-text table with a header row; columns sized to their widest cell (UTF-8 aware).
class Table {
public:
    explicit Table(std::vector<std::string> header) : m_rows{std::move(header)} {}
    void add(std::vector<std::string> row) { m_rows.push_back(std::move(row)); }
    std::string render() const;

private:
    std::vector<std::vector<std::string>> m_rows;
};

}  // namespace mailtrack::cli
