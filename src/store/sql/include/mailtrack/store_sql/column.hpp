#pragma once

// What a stored column is, and the generic code over a table of them: its names in order, its
// values in order (for binding or SQL literals), and reading a row back. A table is a
// std::tuple of column descriptors (see columns.hpp), so every walk over it is inlined: the
// SQL stores bind and read a row as fast as with hand-written code.
//
// Values are seen as one of four shapes: std::int64_t, std::optional<std::int64_t> (nullopt is
// NULL), std::string_view (empty is NULL, except in key columns) and const core::EventId&
// (zero is NULL). A fact that is absent (an empty std::optional<Fact>) has every column NULL;
// reading, any non-NULL column of a fact creates it (the stores write its time first and
// never a fact without its time).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include "mailtrack/core/state.hpp"

namespace mailtrack::store::sql {

// How two rows of one key combine: core::merge_into, as MySQL's upsert spells it in SQL.
// SQLite joins rows in memory with merge_into itself and uses only `key`.
enum class Join : std::uint8_t {
    key,   // part of the primary key
    fact,  // taken with its fact (Column::fact), as a whole: the fact core prefers wins
    add,   // counters
    min,   // earliest of two optional values
    max,   // latest of two optional values, or the larger count
    text,  // non-empty beats empty, then the smaller
};

// row.*member
template <typename Row, typename T>
struct Field {
    const char* name;
    Join join;
    const char* fact;  // for Join::fact: which fact (a MySQL order key "<fact>_key"); else nullptr
    T Row::*member;

    const T* get(const Row& r) const { return &(r.*member); }
    T& put(Row& r) const { return r.*member; }
};

// (row.*part).*member, for a part that is always there (a status stamp, the engagement).
template <typename Row, typename Part, typename T>
struct PartField {
    const char* name;
    Join join;
    const char* fact;
    Part Row::*part;
    T Part::*member;

    const T* get(const Row& r) const { return &((r.*part).*member); }
    T& put(Row& r) const { return (r.*part).*member; }
};

// (*(row.*fact_member)).*member, for a fact that may be absent (NULL columns).
template <typename Row, typename Fact, typename T>
struct FactField {
    const char* name;
    Join join;
    const char* fact;
    std::optional<Fact> Row::*fact_member;
    T Fact::*member;

    const T* get(const Row& r) const {
        const auto& f = r.*fact_member;
        return f ? &((*f).*member) : nullptr;
    }
    T& put(Row& r) const {
        auto& f = r.*fact_member;
        if (!f) f.emplace();
        return (*f).*member;
    }
    bool present(const Row& r) const { return (r.*fact_member).has_value(); }
};

// Row builders, so a table reads as one line per column.
template <typename Row, typename T>
constexpr Field<Row, T> key(const char* name, T Row::*m) {
    return {name, Join::key, nullptr, m};
}
template <typename Row, typename T>
constexpr Field<Row, T> column(const char* name, Join join, T Row::*m) {
    return {name, join, nullptr, m};
}
template <typename Row, typename Part, typename T>
constexpr PartField<Row, Part, T> column(const char* name, Join join, Part Row::*part, T Part::*m) {
    return {name, join, nullptr, part, m};
}
template <typename Row, typename T>
constexpr Field<Row, T> fact(const char* name, const char* fact_name, T Row::*m) {
    return {name, Join::fact, fact_name, m};
}
template <typename Row, typename Part, typename T>
constexpr PartField<Row, Part, T> fact(const char* name, const char* fact_name, Part Row::*part, T Part::*m) {
    return {name, Join::fact, fact_name, part, m};
}
template <typename Row, typename Fact, typename T>
constexpr FactField<Row, Fact, T> fact(const char* name, const char* fact_name, std::optional<Fact> Row::*f,
                                       T Fact::*m) {
    return {name, Join::fact, fact_name, f, m};
}

template <typename Table>
inline constexpr std::size_t k_column_count = std::tuple_size_v<std::remove_cvref_t<Table>>;

// Calls f(column) for each column, in order.
template <typename Table, typename F>
constexpr void for_each_column(const Table& table, F&& f) {
    std::apply([&](const auto&... c) { (f(c), ...); }, table);
}

// "a, b, c" (each name after `prefix`).
template <typename Table>
std::string column_names(const Table& table, std::string_view prefix = "") {
    std::string out;
    for_each_column(table, [&](const auto& c) {
        if (!out.empty()) out += ", ";
        out += prefix;
        out += c.name;
    });
    return out;
}

namespace detail {

inline const core::EventId k_no_event{};

template <typename C, typename Row, typename F>
void put_value(const C& c, const Row& row, F& f) {
    using T = std::remove_cvref_t<decltype(*c.get(row))>;
    const T* v = c.get(row);
    if constexpr (std::is_same_v<T, std::string>) {
        f(c, v != nullptr ? std::string_view(*v) : std::string_view());
    } else if constexpr (std::is_same_v<T, std::int64_t>) {
        if (v != nullptr)
            f(c, *v);
        else
            f(c, std::optional<std::int64_t>());
    } else if constexpr (std::is_same_v<T, std::optional<std::int64_t>>) {
        f(c, v != nullptr ? *v : std::optional<std::int64_t>());
    } else if constexpr (std::is_same_v<T, core::EventId>) {
        f(c, v != nullptr ? *v : k_no_event);
    } else if constexpr (std::is_same_v<T, core::RecipientStatus>) {
        f(c, static_cast<std::int64_t>(core::precedence(*v)));
    } else {
        static_assert(std::is_same_v<T, core::SuppressionReason>, "a column type the SQL stores cannot store");
        f(c, static_cast<std::int64_t>(*v));
    }
}

// Reads the reader's next cell as a T; `empty` says whether it was NULL (or an empty string, a
// zero event id, which the stores write as NULL).
template <typename T, typename Reader>
T read_value(Reader& r, bool& empty) {
    if constexpr (std::is_same_v<T, std::string>) {
        std::string s = r.text();
        empty = s.empty();
        return s;
    } else if constexpr (std::is_same_v<T, std::int64_t>) {
        auto v = r.opt_int64();
        empty = !v;
        return v.value_or(0);
    } else if constexpr (std::is_same_v<T, std::optional<std::int64_t>>) {
        auto v = r.opt_int64();
        empty = !v;
        return v;
    } else if constexpr (std::is_same_v<T, core::EventId>) {
        core::EventId id = r.event_id();
        empty = id == core::EventId{};
        return id;
    } else if constexpr (std::is_same_v<T, core::RecipientStatus>) {
        // Rows are only written by the stores; an out-of-range value means a newer schema wrote it.
        empty = false;
        return core::status_from_precedence(static_cast<int>(r.int64())).value_or(core::RecipientStatus::queued);
    } else {
        static_assert(std::is_same_v<T, core::SuppressionReason>, "a column type the SQL stores cannot read");
        empty = false;
        const std::int64_t v = r.int64();
        return v >= 0 && v <= static_cast<std::int64_t>(core::SuppressionReason::complaint)
                   ? static_cast<core::SuppressionReason>(v)
                   : core::SuppressionReason::manual;
    }
}

template <typename C, typename Row, typename Reader>
void get_value(const C& c, Row& row, Reader& r) {
    using T = std::remove_cvref_t<decltype(c.put(row))>;
    bool empty = false;
    T v = read_value<T>(r, empty);
    if constexpr (requires { c.present(row); }) {
        if (empty && !c.present(row)) return;  // an absent fact stays absent
    }
    c.put(row) = std::move(v);
}

}  // namespace detail

// Calls f(column, value) for each column of `row`, in order, value in one of the four shapes.
template <typename Table, typename Row, typename F>
void for_each_value(const Table& table, const Row& row, F&& f) {
    for_each_column(table, [&](const auto& c) { detail::put_value(c, row, f); });
}

// Reads one row from a reader positioned on its first column: int64(), opt_int64(), text() and
// event_id() each consume one column (as SqliteStore's Statement and MysqlStore's Rows do).
template <typename Row, typename Table, typename Reader>
Row read_row(const Table& table, Reader& r) {
    Row row;
    for_each_column(table, [&](const auto& c) { detail::get_value(c, row, r); });
    return row;
}

}  // namespace mailtrack::store::sql
