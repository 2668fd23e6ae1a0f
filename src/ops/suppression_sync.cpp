#include "mailtrack/ops/suppression_sync.hpp"

#include <map>

#include "mailtrack/core/address.hpp"

namespace mailtrack::ops {

util::Result<SuppressionSyncReport> sync_suppressions(store::Store& store, aws::SesV2Client& ses,
                                                      const util::Clock& clock, SuppressionSyncOptions options) {
    const util::UnixMillis now = clock.now_millis();
    auto remote = ses.list_all_suppressed_destinations({});
    if (!remote) return util::Unexpected(aws::to_util_error(remote.error()));
    MAILTRACK_TRY_ASSIGN(auto local, store.suppressions());

    std::map<std::string, const core::Suppression*, std::less<>> ours;
    for (const auto& s : local) {
        if (!s.expires_at || *s.expires_at > now) ours[s.address] = &s;
    }
    std::map<std::string, const aws::SuppressedDestination*, std::less<>> theirs;
    for (const auto& d : *remote) theirs[core::normalize_address(d.email_address)] = &d;

    SuppressionSyncReport report;
    for (const auto& [address, d] : theirs) {
        if (ours.contains(address)) continue;
        if (options.prune) {
            if (!options.dry_run) {
                if (auto r = ses.delete_suppressed_destination(d->email_address); !r) {
                    report.errors.push_back(address + ": deleting from SES: " + r.error().describe());
                    continue;
                }
            }
            report.pruned.push_back(address);
            continue;
        }
        core::Suppression entry;
        entry.address = address;
        entry.reason = d->reason == "COMPLAINT" ? core::SuppressionReason::complaint : core::SuppressionReason::bounce;
        entry.since = d->last_update_time ? d->last_update_time : now;
        entry.detail =
            "SES account suppression list" + (d->message_id.empty() ? "" : " (message " + d->message_id + ")");
        if (!options.dry_run) {
            if (auto r = store.suppress(entry); !r) {
                report.errors.push_back(address + ": " + r.error().describe());
                continue;
            }
        }
        report.pulled.push_back(address);
    }
    for (const auto& [address, s] : ours) {
        if (theirs.contains(address)) continue;
        if (s->reason != core::SuppressionReason::bounce && s->reason != core::SuppressionReason::complaint) continue;
        if (!options.dry_run) {
            const std::string reason = s->reason == core::SuppressionReason::complaint ? "COMPLAINT" : "BOUNCE";
            if (auto r = ses.put_suppressed_destination(address, reason); !r) {
                report.errors.push_back(address + ": putting on SES: " + r.error().describe());
                continue;
            }
        }
        report.pushed.push_back(address);
    }
    return report;
}

}  // namespace mailtrack::ops
