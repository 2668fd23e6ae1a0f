#pragma once

// The configuration as types: one struct per [section], one member per setting, filled once by
// Config::load from the validated values (the help text of each is in settings(), config.cpp;
// `mailtrack config show` prints them). Nothing outside config and the composition root reads
// a setting by its key.

#include <cstdint>
#include <string>
#include <vector>

namespace mailtrack::config {

struct LogSettings {
    std::string level{};
    std::string format{};
    bool operator==(const LogSettings&) const = default;
};

struct StoreSettings {
    std::string backend{};
    std::string sqlite_path{};
    std::int64_t sqlite_busy_timeout_ms{};
    std::string sqlite_synchronous{};
    std::int64_t archive_zstd_level{};
    std::int64_t sqlite_cache_kib{};
    std::string mysql_url{};
    std::string mysql_password_file{};
    std::string mysql_secret_arn{};
    bool mysql_create_database{};
    bool operator==(const StoreSettings&) const = default;
};

struct IngestSettings {
    std::int64_t batch_size{};
    std::int64_t max_document_bytes{};
    bool operator==(const IngestSettings&) const = default;
};

struct AwsSettings {
    std::string region{};
    std::string profile{};
    std::string endpoint_url{};
    std::string sqs_endpoint_url{};
    std::string sns_endpoint_url{};
    std::string sesv2_endpoint_url{};
    std::string secretsmanager_endpoint_url{};
    std::int64_t max_attempts{};
    std::int64_t connect_timeout_ms{};
    std::int64_t request_timeout_ms{};
    bool operator==(const AwsSettings&) const = default;
};

struct WorkerSettings {
    std::vector<std::string> queue_urls{};
    std::string dlq_url{};
    std::int64_t concurrency{};
    std::int64_t batch_max{};
    std::int64_t linger_ms{};
    std::int64_t wait_time_s{};
    std::int64_t visibility_timeout_s{};
    bool heartbeat{};
    std::int64_t max_receive_count{};
    std::int64_t max_in_flight{};
    std::int64_t ack_delay_ms{};
    std::int64_t store_backoff_initial_ms{};
    std::int64_t store_backoff_max_ms{};
    std::int64_t queue_backoff_initial_ms{};
    std::int64_t queue_backoff_max_ms{};
    std::int64_t stop_timeout_s{};
    std::int64_t stats_interval_s{};
    bool operator==(const WorkerSettings&) const = default;
};

struct SnsSettings {
    std::string events_topic_arn{};
    std::string alerts_topic_arn{};
    bool operator==(const SnsSettings&) const = default;
};

struct SesSettings {
    std::string configuration_set{};
    std::string from{};
    bool operator==(const SesSettings&) const = default;
};

struct SendingSettings {
    bool sandbox_events{};
    bool sandbox_engagement{};
    std::int64_t bulk_concurrency{};
    bool operator==(const SendingSettings&) const = default;
};

struct SuppressionSettings {
    std::int64_t soft_bounce_limit{};
    std::int64_t soft_bounce_window_sends{};
    std::int64_t soft_bounce_expiry_days{};
    bool operator==(const SuppressionSettings&) const = default;
};

struct RedisSettings {
    std::string url{};
    std::string tls_ca_file{};
    std::string password_file{};
    std::string auth_secret_arn{};
    std::int64_t connect_timeout_ms{};
    std::int64_t command_timeout_ms{};
    std::int64_t reconnect_interval_ms{};
    std::string key_prefix{};
    std::int64_t fallback_instances{};
    std::int64_t send_burst{};
    std::int64_t cache_ttl_s{};
    std::int64_t idempotency_ttl_s{};
    bool operator==(const RedisSettings&) const = default;
};

struct ServerSettings {
    std::string listen_address{};
    std::int64_t port{};
    std::int64_t max_body_bytes{};
    std::int64_t max_header_bytes{};
    std::int64_t read_timeout_ms{};
    std::int64_t idle_timeout_ms{};
    std::int64_t write_timeout_ms{};
    std::int64_t max_connections{};
    std::int64_t io_threads{};
    std::int64_t handler_threads{};
    std::string tls_certificate_file{};
    std::string tls_private_key_file{};
    bool access_log{};
    std::int64_t shutdown_timeout_s{};
    bool worker{};
    bool operator==(const ServerSettings&) const = default;
};

struct Settings {
    LogSettings log;
    StoreSettings store;
    IngestSettings ingest;
    AwsSettings aws;
    WorkerSettings worker;
    SnsSettings sns;
    SesSettings ses;
    SendingSettings sending;
    SuppressionSettings suppression;
    RedisSettings redis;
    ServerSettings server;
    bool operator==(const Settings&) const = default;
};

}  // namespace mailtrack::config
