#include "mailtrack/util/metrics.hpp"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace mailtrack::util {
namespace {

Labels sorted(Labels labels) {
    std::sort(labels.begin(), labels.end());
    return labels;
}

bool same_labels(const Labels& a, const Labels& b) {
    return sorted(a) == sorted(b);
}

std::string format_double(double v) {
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    if (std::isnan(v)) return "NaN";
    char buf[64];
    // The shortest text that reads back as the same double: 0.004, not 0.0040000000000000001.
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    return ec == std::errc() ? std::string(buf, end) : std::string("NaN");
}

void append_labels(std::string& out, const Labels& labels, const std::string* le = nullptr) {
    if (labels.empty() && le == nullptr) return;
    out += '{';
    bool first = true;
    auto one = [&](std::string_view k, std::string_view v) {
        if (!first) out += ',';
        first = false;
        out += k;
        out += "=\"";
        for (const char c : v) {
            if (c == '\\' || c == '"') out += '\\';
            if (c == '\n') {
                out += "\\n";
                continue;
            }
            out += c;
        }
        out += '"';
    };
    for (const auto& [k, v] : labels) one(k, v);
    if (le != nullptr) one("le", *le);
    out += '}';
}

}  // namespace

double HistogramData::quantile(double q) const {
    if (count == 0) return 0;
    const auto rank = static_cast<std::int64_t>(std::ceil(q * static_cast<double>(count)));
    std::int64_t seen = 0;
    for (std::size_t i = 0; i < buckets.size(); ++i) {
        seen += buckets[i];
        if (seen >= std::max<std::int64_t>(rank, 1)) {
            return i < bounds.size() ? bounds[i] : (bounds.empty() ? 0 : bounds.back());
        }
    }
    return bounds.empty() ? 0 : bounds.back();
}

HistogramData HistogramData::minus(const HistogramData& earlier) const {
    HistogramData out = *this;
    if (earlier.buckets.size() != buckets.size()) return out;
    for (std::size_t i = 0; i < buckets.size(); ++i) out.buckets[i] -= earlier.buckets[i];
    out.count -= earlier.count;
    out.sum -= earlier.sum;
    return out;
}

Histogram::Histogram(std::vector<double> bounds)
    : m_bounds(std::move(bounds)), m_buckets(std::make_unique<std::atomic<std::int64_t>[]>(m_bounds.size() + 1)) {
    std::sort(m_bounds.begin(), m_bounds.end());
}

void Histogram::observe(double value) noexcept {
    const auto it = std::lower_bound(m_bounds.begin(), m_bounds.end(), value);
    m_buckets[static_cast<std::size_t>(it - m_bounds.begin())].fetch_add(1, std::memory_order_relaxed);
    m_count.fetch_add(1, std::memory_order_relaxed);
    m_sum.fetch_add(value, std::memory_order_relaxed);
}

HistogramData Histogram::data() const {
    HistogramData d;
    d.bounds = m_bounds;
    d.buckets.resize(m_bounds.size() + 1);
    for (std::size_t i = 0; i <= m_bounds.size(); ++i) d.buckets[i] = m_buckets[i].load(std::memory_order_relaxed);
    d.count = m_count.load(std::memory_order_relaxed);
    d.sum = m_sum.load(std::memory_order_relaxed);
    return d;
}

std::vector<double> exponential_buckets(double start, double factor, int count) {
    std::vector<double> out;
    double v = start;
    for (int i = 0; i < count; ++i, v *= factor) out.push_back(v);
    return out;
}

MetricsRegistry::Family& MetricsRegistry::family(std::string_view name, MetricType type, std::string_view help) {
    auto it = m_families.find(name);
    if (it == m_families.end()) {
        it = m_families.emplace(std::string(name), Family{}).first;
        it->second.type = type;
        it->second.help = std::string(help);
    }
    // Our own call sites give each name one type; a mismatch is a programming error.
    assert(it->second.type == type);
    return it->second;
}

Counter& MetricsRegistry::counter(std::string_view name, Labels labels, std::string_view help) {
    std::lock_guard lock(m_mutex);
    auto& slot = family(name, MetricType::counter, help).counters[sorted(std::move(labels))];
    if (!slot) slot = std::make_unique<Counter>();
    return *slot;
}

Gauge& MetricsRegistry::gauge(std::string_view name, Labels labels, std::string_view help) {
    std::lock_guard lock(m_mutex);
    auto& slot = family(name, MetricType::gauge, help).gauges[sorted(std::move(labels))];
    if (!slot) slot = std::make_unique<Gauge>();
    return *slot;
}

Histogram& MetricsRegistry::histogram(std::string_view name, std::vector<double> bounds, Labels labels,
                                      std::string_view help) {
    std::lock_guard lock(m_mutex);
    Family& f = family(name, MetricType::histogram, help);
    if (f.bounds.empty()) f.bounds = std::move(bounds);
    auto& slot = f.histograms[sorted(std::move(labels))];
    if (!slot) slot = std::make_unique<Histogram>(f.bounds);
    return *slot;
}

MetricsSnapshot MetricsRegistry::snapshot() const {
    std::lock_guard lock(m_mutex);
    MetricsSnapshot out;
    for (const auto& [name, f] : m_families) {
        for (const auto& [labels, c] : f.counters)
            out.samples.push_back({name, labels, MetricType::counter, c->value(), {}});
        for (const auto& [labels, g] : f.gauges)
            out.samples.push_back({name, labels, MetricType::gauge, g->value(), {}});
        for (const auto& [labels, h] : f.histograms)
            out.samples.push_back({name, labels, MetricType::histogram, 0, h->data()});
    }
    return out;
}

std::string MetricsRegistry::prometheus_text() const {
    const MetricsSnapshot snap = snapshot();
    std::string out;
    std::string current;
    for (const MetricSample& s : snap.samples) {
        if (s.name != current) {
            current = s.name;
            {
                std::lock_guard lock(m_mutex);
                const auto it = m_families.find(current);
                if (it != m_families.end() && !it->second.help.empty()) {
                    out += "# HELP " + current + " " + it->second.help + "\n";
                }
            }
            out += "# TYPE " + current + " ";
            out += s.type == MetricType::counter ? "counter" : s.type == MetricType::gauge ? "gauge" : "histogram";
            out += "\n";
        }
        if (s.type != MetricType::histogram) {
            out += s.name;
            append_labels(out, s.labels);
            out += " " + std::to_string(s.value) + "\n";
            continue;
        }
        std::int64_t cumulative = 0;
        for (std::size_t i = 0; i < s.histogram.buckets.size(); ++i) {
            cumulative += s.histogram.buckets[i];
            const std::string le = i < s.histogram.bounds.size() ? format_double(s.histogram.bounds[i]) : "+Inf";
            out += s.name + "_bucket";
            append_labels(out, s.labels, &le);
            out += " " + std::to_string(cumulative) + "\n";
        }
        out += s.name + "_sum";
        append_labels(out, s.labels);
        out += " " + format_double(s.histogram.sum) + "\n";
        out += s.name + "_count";
        append_labels(out, s.labels);
        out += " " + std::to_string(s.histogram.count) + "\n";
    }
    return out;
}

std::int64_t MetricsSnapshot::total(std::string_view name) const {
    std::int64_t sum = 0;
    for (const auto& s : samples) {
        if (s.name == name) sum += s.type == MetricType::histogram ? s.histogram.count : s.value;
    }
    return sum;
}

std::int64_t MetricsSnapshot::value(std::string_view name, const Labels& labels) const {
    for (const auto& s : samples) {
        if (s.name == name && same_labels(s.labels, labels)) return s.value;
    }
    return 0;
}

HistogramData MetricsSnapshot::histogram(std::string_view name) const {
    HistogramData out;
    for (const auto& s : samples) {
        if (s.name != name || s.type != MetricType::histogram) continue;
        if (out.buckets.empty()) {
            out = s.histogram;
            continue;
        }
        if (out.buckets.size() != s.histogram.buckets.size()) continue;
        for (std::size_t i = 0; i < out.buckets.size(); ++i) out.buckets[i] += s.histogram.buckets[i];
        out.count += s.histogram.count;
        out.sum += s.histogram.sum;
    }
    return out;
}

}  // namespace mailtrack::util
