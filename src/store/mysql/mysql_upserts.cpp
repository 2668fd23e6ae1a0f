#include "mailtrack/store_sql/shared_sql.hpp"

#include "mysql_db.hpp"

// Writing rows: SQL literals, the joins' total orders as byte strings, and the multi-row
// `INSERT ... ON DUPLICATE KEY UPDATE` statements whose UPDATE clause is core's join in SQL,
// all built from the shared column table (store_sql/columns.hpp).

namespace mailtrack::store {

using core::EventId;
using core::MessageState;
using core::RecipientState;
using util::Result;
using util::UnixMillis;

void append_hex(std::string& out, const void* data, std::size_t size) {
    static constexpr char k_digits[] = "0123456789ABCDEF";
    const auto* p = static_cast<const unsigned char*>(data);
    out += "X'";
    const std::size_t start = out.size();
    out.resize(start + size * 2);
    for (std::size_t i = 0; i < size; ++i) {
        out[start + 2 * i] = k_digits[p[i] >> 4];
        out[start + 2 * i + 1] = k_digits[p[i] & 15];
    }
    out += '\'';
}

std::string bin(std::string_view v) {
    std::string out;
    out.reserve(v.size() * 2 + 3);
    append_hex(out, v.data(), v.size());
    return out;
}
std::string text(std::string_view v) {
    return v.empty() ? "NULL" : bin(v);
}
std::string event(const EventId& id) {
    return id == EventId{} ? "NULL" : event_key_literal(id);
}
std::string event_key_literal(const EventId& id) {
    std::string out;
    append_hex(out, id.bytes.data(), id.bytes.size());
    return out;
}

Result<void> insert_rows(Connection& c, const std::string& head, const std::vector<std::string>& rows,
                         const std::string& tail, std::string_view doing) {
    std::string sql;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        if (sql.empty())
            sql = head;
        else
            sql += ',';
        sql += rows[i];
        if (i + 1 == rows.size() || sql.size() + rows[i + 1].size() + tail.size() > k_max_statement_bytes) {
            sql += tail;
            MAILTRACK_TRY(c.exec(sql, doing));
            sql.clear();
        }
    }
    return {};
}

namespace {

// ---- the joins' total orders as byte strings (larger wins)

void put_u64(std::string& out, std::uint64_t u) {
    for (int shift = 56; shift >= 0; shift -= 8) out += static_cast<char>((u >> shift) & 0xff);
}
std::uint64_t ordered(std::int64_t v) {
    return static_cast<std::uint64_t>(v) ^ (std::uint64_t{1} << 63);
}
void earlier_wins(std::string& out, UnixMillis at) {
    put_u64(out, ~ordered(at));
}
void later_wins(std::string& out, UnixMillis at) {
    put_u64(out, ordered(at));
}
void smaller_event_wins(std::string& out, const EventId& id) {
    for (auto b : id.bytes) out += static_cast<char>(~b & 0xff);
}

std::string status_key(const core::StatusStamp& s) {
    // merge_status: higher precedence, then earlier (at, event).
    std::string k(1, static_cast<char>(core::precedence(s.status)));
    earlier_wins(k, s.at);
    smaller_event_wins(k, s.event);
    return k;
}
template <typename Fact>
std::string earliest_key(const std::optional<Fact>& f, int rank = 0) {
    if (!f) return {};
    std::string k(1, static_cast<char>(rank));
    earlier_wins(k, f->at);
    smaller_event_wins(k, f->event);
    return k;
}
int bounce_severity(std::string_view type) {
    if (type == "Permanent") return 3;
    if (type == "Undetermined") return 2;
    if (type == "Transient") return 1;
    return 0;
}
std::string delay_key(const std::optional<core::DelayFact>& f) {
    if (!f) return {};
    std::string k;
    later_wins(k, f->at);
    smaller_event_wins(k, f->event);
    return k;
}
std::string suppression_key(const core::Suppression& x) {
    // merge_into(Suppression): the smallest (-reason, since, source_event).
    std::string k(1, static_cast<char>(x.reason));
    earlier_wins(k, x.since);
    smaller_event_wins(k, x.source_event);
    return k;
}

// Each table's order keys, in column order after the shared columns: one per fact of the table
// (the `fact` of its Join::fact columns), named "<fact>_key".
constexpr const char* k_message_facts[] = {"status"};
constexpr const char* k_recipient_facts[] = {"status", "delivery", "bounce", "complaint", "delay", "failure"};
constexpr const char* k_suppression_facts[] = {"suppression"};

std::vector<std::string> order_keys(const MessageState& m) {
    return {status_key(m.status)};
}
std::vector<std::string> order_keys(const RecipientState& r) {
    return {status_key(r.status),
            earliest_key(r.delivery),
            r.bounce ? earliest_key(r.bounce, bounce_severity(r.bounce->bounce_type)) : std::string(),
            earliest_key(r.complaint),
            delay_key(r.delay),
            r.failure ? earliest_key(r.failure, r.failure->template_name.empty() ? 1 : 0) : std::string()};
}
std::vector<std::string> order_keys(const core::Suppression& x) {
    return {suppression_key(x)};
}

void append_literal(std::string& v, sql::Join join, std::string_view x) {
    v += join == sql::Join::key ? bin(x) : text(x);
}
void append_literal(std::string& v, sql::Join, std::int64_t x) {
    v += num(x);
}
void append_literal(std::string& v, sql::Join, const std::optional<std::int64_t>& x) {
    v += num(x);
}
void append_literal(std::string& v, sql::Join, const EventId& x) {
    v += event(x);
}

// "(v1,v2,...,key1,...)": the row's shared columns, then its order keys.
template <typename Table, typename Row>
std::string row_literal(const Table& table, const Row& row) {
    std::string v = "(";
    sql::for_each_value(table, row, [&](const auto& c, const auto& x) {
        if (v.size() > 1) v += ',';
        append_literal(v, c.join, x);
    });
    for (const std::string& k : order_keys(row)) v += "," + bin(k);
    v += ")";
    return v;
}

std::string key_column(const char* fact) {
    return std::string(fact) + "_key";
}

template <typename Table>
std::string upsert_head(const char* table, const Table& columns, std::span<const char* const> facts) {
    std::string names = sql::column_names(columns);
    for (const char* f : facts) names += ", " + key_column(f);
    return std::string("INSERT INTO ") + table + " (" + names + ") VALUES ";
}

template <typename Table>
std::string upsert_tail(const Table& columns, std::span<const char* const> facts) {
    std::string set;
    auto add = [&](const std::string& part) {
        if (!set.empty()) set += ", ";
        set += part;
    };
    sql::for_each_column(columns, [&](const auto& c) {
        const std::string n = c.name;
        const std::string v = "VALUES(" + n + ")";
        switch (c.join) {
            case sql::Join::key: break;
            case sql::Join::fact: {
                const std::string k = key_column(c.fact);
                add(n + " = IF(VALUES(" + k + ") > " + k + ", " + v + ", " + n + ")");
                break;
            }
            case sql::Join::add: add(n + " = " + n + " + " + v); break;
            case sql::Join::min:
                add(n + " = LEAST(COALESCE(" + n + ", " + v + "), COALESCE(" + v + ", " + n + "))");
                break;
            case sql::Join::max:
                add(n + " = GREATEST(COALESCE(" + n + ", " + v + "), COALESCE(" + v + ", " + n + "))");
                break;
            case sql::Join::text:
                add(n + " = IF(" + v + " IS NULL, " + n + ", IF(" + n + " IS NULL, " + v + ", LEAST(" + n + ", " + v +
                    ")))");
                break;
        }
    });
    // MySQL evaluates the assignments left to right, each seeing the ones before: the order
    // keys go last so every fact column above compared against the stored key.
    for (const char* f : facts) {
        const std::string k = key_column(f);
        add(k + " = GREATEST(" + k + ", VALUES(" + k + "))");
    }
    return " ON DUPLICATE KEY UPDATE " + set;
}

}  // namespace

void MysqlStore::Impl::build_statements() {
    message_select = sql::select_from(sql::k_message_columns, "messages");
    recipient_select = sql::select_from(sql::k_recipient_columns, "recipients");
    suppression_select = sql::select_from(sql::k_suppression_columns, "suppressions");
    message_upsert_head = upsert_head("messages", sql::k_message_columns, k_message_facts);
    message_upsert_tail = upsert_tail(sql::k_message_columns, k_message_facts);
    recipient_upsert_head = upsert_head("recipients", sql::k_recipient_columns, k_recipient_facts);
    recipient_upsert_tail = upsert_tail(sql::k_recipient_columns, k_recipient_facts);
    suppression_upsert_head = upsert_head("suppressions", sql::k_suppression_columns, k_suppression_facts);
    suppression_upsert_tail = upsert_tail(sql::k_suppression_columns, k_suppression_facts);
    stats_upsert_head = "INSERT INTO address_stats (address, soft_bounces, last_soft_bounce_at) VALUES ";
    stats_upsert_tail =
        " ON DUPLICATE KEY UPDATE soft_bounces = soft_bounces + VALUES(soft_bounces), last_soft_bounce_at = "
        "GREATEST(COALESCE(last_soft_bounce_at, VALUES(last_soft_bounce_at)), "
        "COALESCE(VALUES(last_soft_bounce_at), last_soft_bounce_at))";
}

Result<void> MysqlStore::Impl::write_states(
    Connection& c, const std::map<std::string, MessageState, std::less<>>& messages,
    const std::map<std::pair<std::string, std::string>, RecipientState>& recipients) {
    std::vector<std::string> rows;
    rows.reserve(messages.size());
    for (const auto& [id, m] : messages) rows.push_back(row_literal(sql::k_message_columns, m));
    MAILTRACK_TRY(insert_rows(c, message_upsert_head, rows, message_upsert_tail, "writing messages"));
    rows.clear();
    for (const auto& [key, r] : recipients) rows.push_back(row_literal(sql::k_recipient_columns, r));
    return insert_rows(c, recipient_upsert_head, rows, recipient_upsert_tail, "writing recipients");
}

Result<void> MysqlStore::Impl::write_suppressions(
    Connection& c, const std::map<std::string, core::Suppression, std::less<>>& entries) {
    std::vector<std::string> rows;
    for (const auto& [a, x] : entries) rows.push_back(row_literal(sql::k_suppression_columns, x));
    return insert_rows(c, suppression_upsert_head, rows, suppression_upsert_tail, "writing suppressions");
}

std::string MysqlStore::Impl::suppression_upsert(const core::Suppression& entry) const {
    return suppression_upsert_head + row_literal(sql::k_suppression_columns, entry) + suppression_upsert_tail;
}

}  // namespace mailtrack::store
