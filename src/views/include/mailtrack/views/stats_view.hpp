#pragma once

#include <nlohmann/json.hpp>

#include "mailtrack/core/reputation.hpp"
#include "mailtrack/store/store.hpp"

namespace mailtrack::views {

// SES's verdicts on the counts (core::assess_reputation over sent, permanent bounces, complaints).
core::ReputationAssessment reputation(const store::DeliveryCounts& n);

// The stats report: {messages, recipients, sent, delivered, bounced, complained, opens, clicks,
// by_status: {<status>: n for every status}, bounce_rate, bounce_verdict, complaint_rate,
// complaint_verdict} (rates as fractions, verdicts "ok", "WARNING" or "AT RISK").
nlohmann::json stats(const store::DeliveryCounts& n);

}  // namespace mailtrack::views
