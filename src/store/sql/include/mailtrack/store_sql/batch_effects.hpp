#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "mailtrack/core/state.hpp"

namespace mailtrack::store::sql {

// A batch's new events' effects (core::effects_of), joined in memory per message, recipient
// and address so a store reads or writes each row once. Kept in key order (std::map), the
// order the SQL stores write rows in (B-trees walked forwards; one lock order for every
// writer). For the stores' implementations; not part of the Store interface.
struct BatchEffects {
    std::map<std::string, core::MessageState, std::less<>> messages;
    std::map<std::pair<std::string, std::string>, core::RecipientState> recipients;  // (message id, address)
    std::map<std::string, core::Suppression, std::less<>> suppressions;
    // address -> (soft bounces, latest of them)
    std::map<std::string, std::pair<std::int64_t, util::UnixMillis>, std::less<>> soft_bounces;

    // Joins one new event's effects in. Call once per event identity.
    void add(const core::SesEvent& event);
};

}  // namespace mailtrack::store::sql
