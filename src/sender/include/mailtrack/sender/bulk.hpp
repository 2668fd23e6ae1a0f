#pragma once

// Bulk template sends (`mailtrack send-bulk`): one CSV row per recipient, SES SendBulkEmail with
// at most 50 destinations per call. Every row is its own tracked send whose idempotency key is
// "bulk:<file hash>:<line>", so re-running the same file skips the rows already sent.

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mailtrack::sender {

struct BulkRow {
    std::size_t line = 0;       // 1-based line the row starts on
    std::string address;        // as written
    std::string template_data;  // JSON object as text ("{}" when empty)
    std::vector<std::pair<std::string, std::string>> tags;
};

struct BulkRowError {
    std::size_t line = 0;
    std::string message;
};

struct BulkCsv {
    std::vector<BulkRow> rows;
    std::vector<BulkRowError> errors;  // bad rows (address, JSON, tags, CSV syntax), not in rows
};

// Parses "address,template data JSON,tags" (RFC 4180 quoting; tags "k=v;k=v"; an optional
// header line starting with "address"). Never fails as a whole: bad rows land in errors.
BulkCsv parse_bulk_csv(std::string_view text);

// Identifies a recipients file by its content: 16 hex digits of FNV-1a 64 over the bytes plus
// the size (tells files apart; not a security boundary). An edited file is a new file.
std::string bulk_file_key(std::string_view text);

struct BulkRequest {
    std::string from;
    std::string template_name;
    std::string configuration_set;
    std::vector<std::pair<std::string, std::string>> tags;  // on every row
    std::string file_key;                                   // bulk_file_key() of the CSV
    std::vector<BulkRow> rows;
    bool force = false;
};

enum class BulkOutcome { sent, already_sent, suppressed, failed, in_doubt };
std::string_view to_string(BulkOutcome o) noexcept;

struct BulkRowResult {
    std::size_t line = 0;
    std::string address;
    BulkOutcome outcome = BulkOutcome::failed;
    std::string send_id;
    std::string ses_message_id;
    std::string detail;  // why suppressed / failed / in doubt
};

// Called after each batch with rows done so far and the total.
using BulkProgress = std::function<void(std::size_t done, std::size_t total)>;

}  // namespace mailtrack::sender
