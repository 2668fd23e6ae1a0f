#pragma once

// `mailtrack suppress sync`: reconciles our suppression list with SES's account-level one.

#include <cstddef>
#include <string>
#include <vector>

#include "mailtrack/aws/sesv2.hpp"
#include "mailtrack/store/store.hpp"
#include "mailtrack/util/clock.hpp"

namespace mailtrack::ops {

struct SuppressionSyncOptions {
    // Also delete from SES the entries our list does not have (ours is the authority).
    bool prune = false;
    bool dry_run = false;  // report what would change, change nothing
};

struct SuppressionSyncReport {
    std::vector<std::string> pulled;  // on SES, added to ours
    std::vector<std::string> pushed;  // ours (bounce/complaint), put on SES
    std::vector<std::string> pruned;  // deleted from SES (prune)
    std::vector<std::string> errors;  // per address; the others still synced
};

// Both directions: SES entries we lack are added locally (BOUNCE -> bounce, COMPLAINT ->
// complaint); our active bounce and complaint entries SES lacks are put there. Manual and
// soft_bounce_policy entries stay local (SES's list takes only BOUNCE/COMPLAINT and never
// expires). With prune, SES entries that are not active locally are deleted from SES.
// Listing SES's entries failing is an error; a failure on one address is reported and skipped.
util::Result<SuppressionSyncReport> sync_suppressions(store::Store& store, aws::SesV2Client& ses,
                                                      const util::Clock& clock, SuppressionSyncOptions options);

}  // namespace mailtrack::ops
