#include "mailtrack/util/time.hpp"

#include <cstdint>
#include <cstdio>

namespace mailtrack::util {
namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (the civil-from-days inverse).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
    y -= m <= 2 ? 1 : 0;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct Civil {
    std::int64_t year;
    unsigned month;
    unsigned day;
};

Civil civil_from_days(std::int64_t z) noexcept {
    z += 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    return {static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2 ? 1 : 0), m, d};
}

class Cursor {
public:
    explicit Cursor(std::string_view text) : m_text(text) {}
    bool done() const { return m_pos >= m_text.size(); }
    char peek() const { return done() ? '\0' : m_text[m_pos]; }
    bool take(char c) {
        if (peek() != c) return false;
        ++m_pos;
        return true;
    }
    // Exactly `width` digits.
    std::optional<unsigned> digits(std::size_t width) {
        if (m_pos + width > m_text.size()) return std::nullopt;
        unsigned value = 0;
        for (std::size_t i = 0; i < width; ++i) {
            const char c = m_text[m_pos + i];
            if (c < '0' || c > '9') return std::nullopt;
            value = value * 10 + static_cast<unsigned>(c - '0');
        }
        m_pos += width;
        return value;
    }

private:
    std::string_view m_text;
    std::size_t m_pos = 0;
};

bool is_leap(std::int64_t y) {
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

unsigned days_in_month(std::int64_t y, unsigned m) {
    static constexpr unsigned k_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : k_days[m - 1];
}

}  // namespace

std::optional<UnixMillis> parse_timestamp(std::string_view text) noexcept {
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
    Cursor in(text);
    const auto year = in.digits(4);
    if (!year || !in.take('-')) return std::nullopt;
    const auto month = in.digits(2);
    if (!month || !in.take('-')) return std::nullopt;
    const auto day = in.digits(2);
    if (!day || *month < 1 || *month > 12 || *day < 1 || *day > days_in_month(*year, *month)) {
        return std::nullopt;
    }
    const std::int64_t days = days_from_civil(*year, *month, *day);
    if (in.done()) return days * 86'400'000;
    if (!in.take('T') && !in.take('t') && !in.take(' ')) return std::nullopt;
    const auto hour = in.digits(2);
    if (!hour || !in.take(':')) return std::nullopt;
    const auto minute = in.digits(2);
    if (!minute) return std::nullopt;
    unsigned second = 0;
    if (in.take(':')) {
        const auto s = in.digits(2);
        if (!s) return std::nullopt;
        second = *s;
    }
    if (*hour > 23 || *minute > 59 || second > 60) return std::nullopt;
    std::int64_t millis = 0;
    if (in.take('.') || in.take(',')) {
        int width = 0;
        while (in.peek() >= '0' && in.peek() <= '9') {
            const auto digit = static_cast<std::int64_t>(in.peek() - '0');
            in.take(in.peek());
            if (width < 3) millis = millis * 10 + digit;
            ++width;
        }
        if (width == 0) return std::nullopt;
        for (int i = width; i < 3; ++i) millis *= 10;
    }
    while (in.take(' ')) {
    }
    std::int64_t offset_minutes = 0;
    if (in.take('Z') || in.take('z')) {
    } else if (in.peek() == '+' || in.peek() == '-') {
        const bool negative = in.peek() == '-';
        in.take(in.peek());
        const auto oh = in.digits(2);
        if (!oh) return std::nullopt;
        in.take(':');
        const auto om = in.digits(2);
        if (!om || *oh > 23 || *om > 59) return std::nullopt;
        offset_minutes = (negative ? -1 : 1) * static_cast<std::int64_t>(*oh * 60 + *om);
    } else if (!in.done()) {
        return std::nullopt;
    }
    if (!in.done()) return std::nullopt;
    const std::int64_t seconds = days * 86400 + *hour * 3600 + *minute * 60 + second - offset_minutes * 60;
    return seconds * 1000 + millis;
}

std::string format_timestamp(UnixMillis millis) {
    std::int64_t days = millis / 86'400'000;
    std::int64_t rest = millis % 86'400'000;
    if (rest < 0) {
        rest += 86'400'000;
        --days;
    }
    const Civil c = civil_from_days(days);
    char buf[40];
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ", static_cast<long long>(c.year),
                  c.month, c.day, static_cast<long long>(rest / 3'600'000), static_cast<long long>(rest / 60'000 % 60),
                  static_cast<long long>(rest / 1000 % 60), static_cast<long long>(rest % 1000));
    return buf;
}

std::optional<UnixMillis> parse_since(std::string_view text, UnixMillis now) noexcept {
    if (text.size() >= 2) {
        const char unit = text.back();
        std::int64_t per_unit = 0;
        switch (unit) {
            case 's': per_unit = 1000; break;
            case 'm': per_unit = 60'000; break;
            case 'h': per_unit = 3'600'000; break;
            case 'd': per_unit = 86'400'000; break;
            default: break;
        }
        std::string_view number = text.substr(0, text.size() - 1);
        if (per_unit != 0 && number.size() <= 9 && number.find_first_not_of("0123456789") == std::string_view::npos) {
            std::int64_t n = 0;
            for (const char c : number) n = n * 10 + (c - '0');
            return now - n * per_unit;
        }
    }
    return parse_timestamp(text);
}

}  // namespace mailtrack::util
