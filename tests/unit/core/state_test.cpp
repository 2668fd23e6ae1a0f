#include "mailtrack/core/state.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace mailtrack::core {
namespace {

SesEvent make(EventType type, util::UnixMillis at, std::vector<std::string> destination, EventDetail detail,
              std::uint8_t id) {
    SesEvent e;
    e.type = type;
    e.mail.message_id = "m-1";
    e.mail.timestamp = 1000;
    e.mail.destination = std::move(destination);
    e.detail = std::move(detail);
    e.occurred_at = at;
    e.id.bytes[0] = id;
    return e;
}

Bounce bounce(std::string type, std::vector<std::string> who) {
    Bounce b;
    b.bounce_type = std::move(type);
    b.bounce_subtype = "General";
    for (auto& w : who) b.recipients.push_back({w, "failed", "5.0.0", "smtp; 550"});
    return b;
}

Delivery delivery(std::vector<std::string> who) {
    Delivery d;
    d.recipients = std::move(who);
    d.smtp_response = "250 ok";
    return d;
}

// Applies events in the given order through effects_of + merge_into, keyed by address.
std::map<std::string, RecipientState> fold(const std::vector<SesEvent>& events) {
    std::map<std::string, RecipientState> out;
    for (const auto& e : events) {
        for (auto& r : effects_of(e).recipients) {
            auto [it, inserted] = out.try_emplace(r.address, r);
            if (!inserted) merge_into(it->second, r);
        }
    }
    return out;
}

TEST(Status, PrecedenceOrderIsExactlyAsSpecified) {
    const std::vector<std::string> expected = {"queued",       "sent",      "delivery_delayed",
                                               "soft_bounced", "delivered", "rendering_failed",
                                               "rejected",     "bounced",   "complained"};
    for (int i = 0; i < k_status_count; ++i) {
        EXPECT_EQ(to_string(*status_from_precedence(i)), expected[static_cast<std::size_t>(i)]);
        EXPECT_EQ(parse_status(expected[static_cast<std::size_t>(i)]), status_from_precedence(i));
    }
}

TEST(Status, SesTypeNames) {
    EXPECT_EQ(event_type_from_ses("Rendering Failure"), EventType::rendering_failure);
    EXPECT_EQ(event_type_from_ses("DeliveryDelay"), EventType::delivery_delay);
    EXPECT_EQ(event_type_from_ses("Nonsense"), EventType::unknown);
}

TEST(State, TransientBounceThenDeliveryIsDelivered) {
    const auto a = make(EventType::bounce, 2000, {"a@x.io"}, bounce("Transient", {"a@x.io"}), 1);
    const auto b = make(EventType::delivery, 3000, {"a@x.io"}, delivery({"a@x.io"}), 2);
    for (const auto& order : {std::vector{a, b}, std::vector{b, a}}) {
        const auto s = fold(order).at("a@x.io");
        EXPECT_EQ(s.status.status, RecipientStatus::delivered);
        EXPECT_EQ(s.soft_bounces, 1);
        ASSERT_TRUE(s.bounce);
        EXPECT_EQ(s.bounce->bounce_type, "Transient");
    }
}

TEST(State, AsynchronousBounceAfterDeliveryIsBounced) {
    const auto d = make(EventType::delivery, 2000, {"a@x.io"}, delivery({"a@x.io"}), 1);
    const auto b = make(EventType::bounce, 9000, {"a@x.io"}, bounce("Permanent", {"a@x.io"}), 2);
    for (const auto& order : {std::vector{d, b}, std::vector{b, d}}) {
        const auto s = fold(order).at("a@x.io");
        EXPECT_EQ(s.status.status, RecipientStatus::bounced);
        EXPECT_EQ(s.status.at, 9000);
        ASSERT_TRUE(s.delivery);
        EXPECT_EQ(s.delivery->at, 2000);
    }
}

TEST(State, ComplaintAfterDeliveryIsComplainedAndSuppresses) {
    Complaint c;
    c.recipients = {"A@X.IO "};
    c.feedback_type = "abuse";
    const auto d = make(EventType::delivery, 2000, {"a@x.io"}, delivery({"a@x.io"}), 1);
    const auto k = make(EventType::complaint, 5000, {"a@x.io"}, c, 2);
    const auto fx = effects_of(k);
    ASSERT_EQ(fx.suppressions.size(), 1u);
    EXPECT_EQ(fx.suppressions[0].address, "A@x.io");
    EXPECT_EQ(fx.suppressions[0].reason, SuppressionReason::complaint);
    const auto s = fold({k, d});
    EXPECT_EQ(s.at("a@x.io").status.status, RecipientStatus::delivered);  // different local-part case: different key
    EXPECT_EQ(s.at("A@x.io").status.status, RecipientStatus::complained);
}

TEST(State, OpenOnlyReachesTheRecipientOfASingleRecipientMessage) {
    Open o;
    const auto single = effects_of(make(EventType::open, 5000, {"a@x.io"}, o, 1));
    ASSERT_EQ(single.recipients.size(), 1u);
    EXPECT_EQ(single.recipients[0].status.status, RecipientStatus::delivered);
    EXPECT_EQ(single.recipients[0].engagement.opens, 1);
    EXPECT_EQ(single.message.engagement.opens, 1);

    const auto multi = effects_of(make(EventType::open, 5000, {"a@x.io", "b@x.io"}, o, 1));
    EXPECT_TRUE(multi.recipients.empty());
    EXPECT_EQ(multi.message.engagement.opens, 1);
    EXPECT_EQ(multi.message.status.status, RecipientStatus::delivered);
}

TEST(State, SendRejectAndRenderingFailureApplyToEveryDestination) {
    for (auto [type, detail, status] :
         {std::tuple{EventType::send, EventDetail{Send{}}, RecipientStatus::sent},
          std::tuple{EventType::reject, EventDetail{Reject{"Bad content"}}, RecipientStatus::rejected},
          std::tuple{EventType::rendering_failure, EventDetail{RenderingFailure{"T", "oops"}},
                     RecipientStatus::rendering_failed}}) {
        const auto fx = effects_of(make(type, 1000, {"a@x.io", "B@X.IO"}, detail, 1));
        ASSERT_EQ(fx.recipients.size(), 2u);
        EXPECT_EQ(fx.recipients[1].address, "B@x.io");
        for (const auto& r : fx.recipients) EXPECT_EQ(r.status.status, status);
    }
}

TEST(State, UndeterminedBounceIsSoftAndNotSuppressed) {
    const auto fx = effects_of(make(EventType::bounce, 1000, {"a@x.io"}, bounce("Undetermined", {"a@x.io"}), 1));
    EXPECT_EQ(fx.recipients.at(0).status.status, RecipientStatus::soft_bounced);
    EXPECT_TRUE(fx.suppressions.empty());
    EXPECT_EQ(fx.soft_bounced.size(), 1u);
}

TEST(State, MergeIsCommutativeForEqualStatusesToo) {
    // Two deliveries at different times: the earliest is kept whatever the order.
    const auto d1 = make(EventType::delivery, 3000, {"a@x.io"}, delivery({"a@x.io"}), 1);
    const auto d2 = make(EventType::delivery, 2000, {"a@x.io"}, delivery({"a@x.io"}), 2);
    EXPECT_EQ(fold({d1, d2}).at("a@x.io"), fold({d2, d1}).at("a@x.io"));
    EXPECT_EQ(fold({d1, d2}).at("a@x.io").delivery->at, 2000);
}

TEST(State, PermanentBounceFactOutranksTransient) {
    const auto t = make(EventType::bounce, 1000, {"a@x.io"}, bounce("Transient", {"a@x.io"}), 1);
    const auto p = make(EventType::bounce, 5000, {"a@x.io"}, bounce("Permanent", {"a@x.io"}), 2);
    EXPECT_EQ(fold({t, p}).at("a@x.io").bounce->bounce_type, "Permanent");
    EXPECT_EQ(fold({p, t}).at("a@x.io").bounce->bounce_type, "Permanent");
}

}  // namespace
}  // namespace mailtrack::core
