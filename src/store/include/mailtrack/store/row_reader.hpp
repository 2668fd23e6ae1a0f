#pragma once

// Reading the status model's rows, shared by the SQL stores: both keep the same columns in the
// same order (see k_*_columns in each store), and an absent fact is a NULL timestamp with the
// rest of its columns NULL. `Row` reads the current row left to right with a running column
// index: int64(), opt_int64() (nullopt for NULL), text() ("" for NULL), event_id() (zero for
// NULL). Not part of the Store interface.

#include <cstdint>
#include <optional>
#include <string>

#include "mailtrack/core/state.hpp"

namespace mailtrack::store::rows {

using core::MessageState;
using core::RecipientState;
using util::UnixMillis;

inline core::RecipientStatus status_at(std::int64_t v) {
    // Rows are only written by this store; an out-of-range value means a newer schema wrote it.
    return core::status_from_precedence(static_cast<int>(v)).value_or(core::RecipientStatus::queued);
}

template <typename Row>
core::Engagement read_engagement(Row& s) {
    core::Engagement e;
    e.opens = s.int64();
    e.first_open_at = s.opt_int64();
    e.last_open_at = s.opt_int64();
    e.clicks = s.int64();
    e.first_click_at = s.opt_int64();
    e.last_click_at = s.opt_int64();
    e.subscription_changes = s.int64();
    e.unsubscribed_at = s.opt_int64();
    return e;
}

template <typename Row>
core::StatusStamp read_status(Row& s) {
    core::StatusStamp st;
    st.status = status_at(s.int64());
    st.at = s.int64();
    st.event = s.event_id();
    return st;
}

template <typename Row>
MessageState read_message(Row& s) {
    MessageState m;
    m.message_id = s.text();
    m.status = read_status(s);
    m.mail_timestamp = s.opt_int64();
    m.source = s.text();
    m.subject = s.text();
    m.sending_account_id = s.text();
    m.source_arn = s.text();
    m.configuration_set = s.text();
    m.send_id = s.text();
    m.recipient_count = s.int64();
    m.engagement = read_engagement(s);
    m.event_count = s.int64();
    m.unknown_events = s.int64();
    m.first_event_at = s.opt_int64();
    m.last_event_at = s.opt_int64();
    return m;
}

template <typename Row>
RecipientState read_recipient(Row& s) {
    RecipientState r;
    r.message_id = s.text();
    r.address = s.text();
    r.status = read_status(s);
    if (auto at = s.opt_int64()) {
        core::DeliveryFact d;
        d.at = *at;
        d.event = s.event_id();
        d.smtp_response = s.text();
        d.reporting_mta = s.text();
        d.processing_time_millis = s.opt_int64().value_or(0);
        r.delivery = std::move(d);
    } else {
        for (int i = 0; i < 4; ++i) s.text();
    }
    if (auto at = s.opt_int64()) {
        core::BounceFact b;
        b.at = *at;
        b.event = s.event_id();
        b.bounce_type = s.text();
        b.bounce_subtype = s.text();
        b.action = s.text();
        b.status_code = s.text();
        b.diagnostic_code = s.text();
        r.bounce = std::move(b);
    } else {
        for (int i = 0; i < 6; ++i) s.text();
    }
    if (auto at = s.opt_int64()) {
        core::ComplaintFact c;
        c.at = *at;
        c.event = s.event_id();
        c.feedback_type = s.text();
        c.complaint_subtype = s.text();
        c.user_agent = s.text();
        r.complaint = std::move(c);
    } else {
        for (int i = 0; i < 4; ++i) s.text();
    }
    if (auto at = s.opt_int64()) {
        core::DelayFact y;
        y.at = *at;
        y.event = s.event_id();
        y.delay_type = s.text();
        y.status_code = s.text();
        y.diagnostic_code = s.text();
        y.expiration_time = s.opt_int64();
        r.delay = std::move(y);
    } else {
        for (int i = 0; i < 5; ++i) s.text();
    }
    if (auto at = s.opt_int64()) {
        core::FailureFact f;
        f.at = *at;
        f.event = s.event_id();
        f.reason = s.text();
        f.template_name = s.text();
        r.failure = std::move(f);
    } else {
        for (int i = 0; i < 3; ++i) s.text();
    }
    r.engagement = read_engagement(s);
    r.soft_bounces = s.int64();
    r.event_count = s.int64();
    r.first_event_at = s.opt_int64();
    r.last_event_at = s.opt_int64();
    return r;
}

template <typename Row>
core::Suppression read_suppression(Row& s) {
    core::Suppression x;
    x.address = s.text();
    const auto reason = s.int64();
    x.reason = reason >= 0 && reason <= 3 ? static_cast<core::SuppressionReason>(reason) : core::SuppressionReason::manual;
    x.since = s.int64();
    x.source_event = s.event_id();
    x.detail = s.text();
    x.expires_at = s.opt_int64();
    return x;
}

}  // namespace mailtrack::store::rows
