#pragma once

// The stored columns of the status model's rows, in table order: the one list both SQL stores
// build their statements, bindings and readers from. A new stored field is one line here plus
// a migration in each store (sqlite_schema.cpp, mysql_schema.cpp) adding the column.
//
// MySQL adds to each table, after these, one order key per fact ("<fact>_key", see
// mysql_keys.hpp); SQLite has none.

#include <tuple>

#include "mailtrack/core/state.hpp"
#include "mailtrack/store_sql/column.hpp"

namespace mailtrack::store::sql {

// The schema version both SQL stores migrate to: the version of their last migration (each
// store checks its list against it). A new migration raises it.
inline constexpr int k_schema_version = 3;

template <typename Row>
constexpr auto status_columns() {
    using core::StatusStamp;
    return std::make_tuple(fact("status", "status", &Row::status, &StatusStamp::status),
                           fact("status_at", "status", &Row::status, &StatusStamp::at),
                           fact("status_event", "status", &Row::status, &StatusStamp::event));
}

template <typename Row>
constexpr auto engagement_columns() {
    using core::Engagement;
    return std::make_tuple(
        column("opens", Join::add, &Row::engagement, &Engagement::opens),
        column("first_open_at", Join::min, &Row::engagement, &Engagement::first_open_at),
        column("last_open_at", Join::max, &Row::engagement, &Engagement::last_open_at),
        column("clicks", Join::add, &Row::engagement, &Engagement::clicks),
        column("first_click_at", Join::min, &Row::engagement, &Engagement::first_click_at),
        column("last_click_at", Join::max, &Row::engagement, &Engagement::last_click_at),
        column("subscription_changes", Join::add, &Row::engagement, &Engagement::subscription_changes),
        column("unsubscribed_at", Join::min, &Row::engagement, &Engagement::unsubscribed_at));
}

using core::MessageState;
inline constexpr auto k_message_columns =
    std::tuple_cat(std::make_tuple(key("message_id", &MessageState::message_id)), status_columns<MessageState>(),
                   std::make_tuple(column("mail_timestamp", Join::min, &MessageState::mail_timestamp),
                                   column("source", Join::text, &MessageState::source),
                                   column("subject", Join::text, &MessageState::subject),
                                   column("sending_account_id", Join::text, &MessageState::sending_account_id),
                                   column("source_arn", Join::text, &MessageState::source_arn),
                                   column("configuration_set", Join::text, &MessageState::configuration_set),
                                   column("send_id", Join::text, &MessageState::send_id),
                                   column("recipient_count", Join::max, &MessageState::recipient_count)),
                   engagement_columns<MessageState>(),
                   std::make_tuple(column("event_count", Join::add, &MessageState::event_count),
                                   column("unknown_events", Join::add, &MessageState::unknown_events),
                                   column("first_event_at", Join::min, &MessageState::first_event_at),
                                   column("last_event_at", Join::max, &MessageState::last_event_at)));

using core::BounceFact;
using core::ComplaintFact;
using core::DelayFact;
using core::DeliveryFact;
using core::FailureFact;
using core::RecipientState;
inline constexpr auto k_recipient_columns = std::tuple_cat(
    std::make_tuple(key("message_id", &RecipientState::message_id), key("address", &RecipientState::address)),
    status_columns<RecipientState>(),
    std::make_tuple(
        fact("delivered_at", "delivery", &RecipientState::delivery, &DeliveryFact::at),
        fact("delivery_event", "delivery", &RecipientState::delivery, &DeliveryFact::event),
        fact("smtp_response", "delivery", &RecipientState::delivery, &DeliveryFact::smtp_response),
        fact("reporting_mta", "delivery", &RecipientState::delivery, &DeliveryFact::reporting_mta),
        fact("processing_ms", "delivery", &RecipientState::delivery, &DeliveryFact::processing_time_millis),
        fact("bounced_at", "bounce", &RecipientState::bounce, &BounceFact::at),
        fact("bounce_event", "bounce", &RecipientState::bounce, &BounceFact::event),
        fact("bounce_type", "bounce", &RecipientState::bounce, &BounceFact::bounce_type),
        fact("bounce_subtype", "bounce", &RecipientState::bounce, &BounceFact::bounce_subtype),
        fact("bounce_action", "bounce", &RecipientState::bounce, &BounceFact::action),
        fact("bounce_status", "bounce", &RecipientState::bounce, &BounceFact::status_code),
        fact("diagnostic_code", "bounce", &RecipientState::bounce, &BounceFact::diagnostic_code),
        fact("complained_at", "complaint", &RecipientState::complaint, &ComplaintFact::at),
        fact("complaint_event", "complaint", &RecipientState::complaint, &ComplaintFact::event),
        fact("feedback_type", "complaint", &RecipientState::complaint, &ComplaintFact::feedback_type),
        fact("complaint_subtype", "complaint", &RecipientState::complaint, &ComplaintFact::complaint_subtype),
        fact("complaint_user_agent", "complaint", &RecipientState::complaint, &ComplaintFact::user_agent),
        fact("delayed_at", "delay", &RecipientState::delay, &DelayFact::at),
        fact("delay_event", "delay", &RecipientState::delay, &DelayFact::event),
        fact("delay_type", "delay", &RecipientState::delay, &DelayFact::delay_type),
        fact("delay_status", "delay", &RecipientState::delay, &DelayFact::status_code),
        fact("delay_diagnostic", "delay", &RecipientState::delay, &DelayFact::diagnostic_code),
        fact("delay_expires_at", "delay", &RecipientState::delay, &DelayFact::expiration_time),
        fact("failed_at", "failure", &RecipientState::failure, &FailureFact::at),
        fact("failure_event", "failure", &RecipientState::failure, &FailureFact::event),
        fact("failure_reason", "failure", &RecipientState::failure, &FailureFact::reason),
        fact("failure_template", "failure", &RecipientState::failure, &FailureFact::template_name)),
    engagement_columns<RecipientState>(),
    std::make_tuple(column("soft_bounces", Join::add, &RecipientState::soft_bounces),
                    column("event_count", Join::add, &RecipientState::event_count),
                    column("first_event_at", Join::min, &RecipientState::first_event_at),
                    column("last_event_at", Join::max, &RecipientState::last_event_at)));

using core::Suppression;
inline constexpr auto k_suppression_columns = std::make_tuple(
    key("address", &Suppression::address), fact("reason", "suppression", &Suppression::reason),
    fact("since", "suppression", &Suppression::since), fact("source_event", "suppression", &Suppression::source_event),
    fact("detail", "suppression", &Suppression::detail), fact("expires_at", "suppression", &Suppression::expires_at));

}  // namespace mailtrack::store::sql
