#include "mailtrack/app/sending.hpp"

namespace mailtrack::app {

Sending make_sending(store::Store& store, AwsServices& aws, std::uint64_t seed) {
    Sending s;
    s.ses = std::make_unique<sender::SesV2Api>(*aws.ses);
    s.max_send_rate = 1.0;
    if (auto account = s.ses->get_account(); account && account->max_send_rate > 0) {
        s.max_send_rate = account->max_send_rate;
        s.rate_source = "GetAccount";
    } else {
        s.rate_source = account ? "GetAccount reported no rate; using 1/s"
                                : "GetAccount failed (" + account.error().describe() + "); using 1/s";
    }
    // A burst of one second's worth: SES measures the rate per second.
    s.limiter =
        std::make_unique<sender::TokenBucketRateLimiter>(s.max_send_rate, s.max_send_rate, aws.clock, aws.sleeper);
    s.ids = std::make_unique<sender::SendIdGenerator>(seed);
    s.sender = std::make_unique<sender::Sender>(store, *s.ses, *s.limiter, aws.clock, aws.sleeper, *s.ids);
    return s;
}

}  // namespace mailtrack::app
