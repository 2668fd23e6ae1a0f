#include "mailtrack/config/config.hpp"

namespace mailtrack::config {

// The one place settings are read by key into their types.
Settings Config::typed_from_values() const {
    Settings s;
    s.log.level = text("log.level");
    s.log.format = text("log.format");
    s.store.backend = text("store.backend");
    s.store.sqlite_path = text("store.sqlite_path");
    s.store.sqlite_busy_timeout_ms = integer("store.sqlite_busy_timeout_ms");
    s.store.sqlite_synchronous = text("store.sqlite_synchronous");
    s.store.archive_zstd_level = integer("store.archive_zstd_level");
    s.store.sqlite_cache_kib = integer("store.sqlite_cache_kib");
    s.store.mysql_url = text("store.mysql_url");
    s.store.mysql_password_file = text("store.mysql_password_file");
    s.store.mysql_secret_arn = text("store.mysql_secret_arn");
    s.store.mysql_create_database = boolean("store.mysql_create_database");
    s.ingest.batch_size = integer("ingest.batch_size");
    s.ingest.max_document_bytes = integer("ingest.max_document_bytes");
    s.aws.region = text("aws.region");
    s.aws.profile = text("aws.profile");
    s.aws.endpoint_url = text("aws.endpoint_url");
    s.aws.sqs_endpoint_url = text("aws.sqs_endpoint_url");
    s.aws.sns_endpoint_url = text("aws.sns_endpoint_url");
    s.aws.sesv2_endpoint_url = text("aws.sesv2_endpoint_url");
    s.aws.secretsmanager_endpoint_url = text("aws.secretsmanager_endpoint_url");
    s.aws.max_attempts = integer("aws.max_attempts");
    s.aws.connect_timeout_ms = integer("aws.connect_timeout_ms");
    s.aws.request_timeout_ms = integer("aws.request_timeout_ms");
    s.worker.queue_urls = list("worker.queue_urls");
    s.worker.dlq_url = text("worker.dlq_url");
    s.worker.concurrency = integer("worker.concurrency");
    s.worker.batch_max = integer("worker.batch_max");
    s.worker.linger_ms = integer("worker.linger_ms");
    s.worker.wait_time_s = integer("worker.wait_time_s");
    s.worker.visibility_timeout_s = integer("worker.visibility_timeout_s");
    s.worker.heartbeat = boolean("worker.heartbeat");
    s.worker.max_receive_count = integer("worker.max_receive_count");
    s.worker.max_in_flight = integer("worker.max_in_flight");
    s.worker.ack_delay_ms = integer("worker.ack_delay_ms");
    s.worker.store_backoff_initial_ms = integer("worker.store_backoff_initial_ms");
    s.worker.store_backoff_max_ms = integer("worker.store_backoff_max_ms");
    s.worker.queue_backoff_initial_ms = integer("worker.queue_backoff_initial_ms");
    s.worker.queue_backoff_max_ms = integer("worker.queue_backoff_max_ms");
    s.worker.stop_timeout_s = integer("worker.stop_timeout_s");
    s.worker.stats_interval_s = integer("worker.stats_interval_s");
    s.sns.events_topic_arn = text("sns.events_topic_arn");
    s.sns.alerts_topic_arn = text("sns.alerts_topic_arn");
    s.ses.configuration_set = text("ses.configuration_set");
    s.ses.from = text("ses.from");
    s.sending.sandbox_events = boolean("sending.sandbox_events");
    s.sending.sandbox_engagement = boolean("sending.sandbox_engagement");
    s.sending.bulk_concurrency = integer("sending.bulk_concurrency");
    s.suppression.soft_bounce_limit = integer("suppression.soft_bounce_limit");
    s.suppression.soft_bounce_window_sends = integer("suppression.soft_bounce_window_sends");
    s.suppression.soft_bounce_expiry_days = integer("suppression.soft_bounce_expiry_days");
    s.redis.url = text("redis.url");
    s.redis.tls_ca_file = text("redis.tls_ca_file");
    s.redis.password_file = text("redis.password_file");
    s.redis.auth_secret_arn = text("redis.auth_secret_arn");
    s.redis.connect_timeout_ms = integer("redis.connect_timeout_ms");
    s.redis.command_timeout_ms = integer("redis.command_timeout_ms");
    s.redis.reconnect_interval_ms = integer("redis.reconnect_interval_ms");
    s.redis.key_prefix = text("redis.key_prefix");
    s.redis.fallback_instances = integer("redis.fallback_instances");
    s.redis.send_burst = integer("redis.send_burst");
    s.redis.cache_ttl_s = integer("redis.cache_ttl_s");
    s.redis.idempotency_ttl_s = integer("redis.idempotency_ttl_s");
    s.server.listen_address = text("server.listen_address");
    s.server.port = integer("server.port");
    s.server.max_body_bytes = integer("server.max_body_bytes");
    s.server.max_header_bytes = integer("server.max_header_bytes");
    s.server.read_timeout_ms = integer("server.read_timeout_ms");
    s.server.idle_timeout_ms = integer("server.idle_timeout_ms");
    s.server.write_timeout_ms = integer("server.write_timeout_ms");
    s.server.max_connections = integer("server.max_connections");
    s.server.io_threads = integer("server.io_threads");
    s.server.handler_threads = integer("server.handler_threads");
    s.server.tls_certificate_file = text("server.tls_certificate_file");
    s.server.tls_private_key_file = text("server.tls_private_key_file");
    s.server.access_log = boolean("server.access_log");
    s.server.shutdown_timeout_s = integer("server.shutdown_timeout_s");
    s.server.worker = boolean("server.worker");
    return s;
}

}  // namespace mailtrack::config
