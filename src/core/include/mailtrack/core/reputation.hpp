#pragma once

#include <cstdint>
#include <string_view>

namespace mailtrack::core {

// SES's account review thresholds (SES developer guide, "reputation metrics"):
// bounce rate 5% puts an account under review warning, 10% at risk of pause;
// complaint rate 0.1% and 0.5% likewise.
inline constexpr double k_bounce_warning = 0.05;
inline constexpr double k_bounce_at_risk = 0.10;
inline constexpr double k_complaint_warning = 0.001;
inline constexpr double k_complaint_at_risk = 0.005;

enum class RateVerdict { healthy, warning, at_risk };

constexpr RateVerdict verdict(double rate, double warning, double at_risk) noexcept {
    if (rate >= at_risk) return RateVerdict::at_risk;
    if (rate >= warning) return RateVerdict::warning;
    return RateVerdict::healthy;
}

constexpr std::string_view to_string(RateVerdict v) noexcept {
    switch (v) {
        case RateVerdict::healthy: return "ok";
        case RateVerdict::warning: return "WARNING";
        case RateVerdict::at_risk: return "AT RISK";
    }
    return "?";
}

// part/whole, 0 when there is no whole.
constexpr double rate(long long part, long long whole) noexcept {
    return whole > 0 ? static_cast<double>(part) / static_cast<double>(whole) : 0.0;
}

// The account's standing by SES's two reputation metrics: bounce rate (permanent bounces over
// sent) and complaint rate (complaints over sent), each with its verdict.
struct ReputationAssessment {
    double bounce_rate = 0;
    RateVerdict bounce_verdict = RateVerdict::healthy;
    double complaint_rate = 0;
    RateVerdict complaint_verdict = RateVerdict::healthy;
    bool operator==(const ReputationAssessment&) const = default;
};

constexpr ReputationAssessment assess_reputation(std::int64_t sent, std::int64_t hard_bounced,
                                                 std::int64_t complained) noexcept {
    ReputationAssessment a;
    a.bounce_rate = rate(hard_bounced, sent);
    a.bounce_verdict = verdict(a.bounce_rate, k_bounce_warning, k_bounce_at_risk);
    a.complaint_rate = rate(complained, sent);
    a.complaint_verdict = verdict(a.complaint_rate, k_complaint_warning, k_complaint_at_risk);
    return a;
}

}  // namespace mailtrack::core
