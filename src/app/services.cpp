#include "mailtrack/app/services.hpp"

#include <unistd.h>

#include <random>

#include "mailtrack/adapters/redis_store.hpp"
#include "mailtrack/app/store_factory.hpp"

namespace mailtrack::app {

Services::Services(config::Config config, aws::Environment env) : m_config(std::move(config)), m_env(std::move(env)) {}

// The sender refers to the store and the AWS clients: it goes first.
Services::~Services() {
    m_sending.reset();
    m_store.reset();
    m_aws.reset();
}

util::Result<store::Store*> Services::store(store::OpenMode mode) {
    if (m_store) return m_store.get();
    MAILTRACK_TRY_ASSIGN(auto opened, open_store(m_config, m_env, mode));
    MAILTRACK_TRY_ASSIGN(m_store, share_through_redis(std::move(opened), m_config, m_env, m_clock));
    return m_store.get();
}

util::Result<AwsServices*> Services::aws() {
    if (m_aws) return m_aws.get();
    MAILTRACK_TRY_ASSIGN(m_aws, make_aws_services(m_config, m_env));
    return m_aws.get();
}

util::Result<const std::optional<RedisSettings>*> Services::redis() {
    if (!m_redis) {
        MAILTRACK_TRY_ASSIGN(auto settings, redis_settings(m_config, m_env));
        m_redis = std::move(settings);
    }
    return &*m_redis;
}

util::Result<Sending*> Services::sending() {
    if (m_sending) return m_sending.get();
    MAILTRACK_TRY_ASSIGN(store::Store * s, store());
    MAILTRACK_TRY_ASSIGN(AwsServices * a, aws());
    MAILTRACK_TRY_ASSIGN(const std::optional<RedisSettings>* r, redis());
    MAILTRACK_TRY_ASSIGN(auto options, sender_options(m_config));
    // Send ids are time + random: the seed mixes the time, the process and the system's entropy.
    const auto seed = static_cast<std::uint64_t>(a->clock.now_millis()) ^
                      (static_cast<std::uint64_t>(::getpid()) << 32) ^ std::random_device{}();
    auto sending = std::make_unique<Sending>(make_sending(*s, *a, seed, options, *r));
    if (settings().sending.sandbox_events) MAILTRACK_TRY(enable_sandbox_events(*sending, *a, m_config));
    m_sending = std::move(sending);
    return m_sending.get();
}

}  // namespace mailtrack::app
