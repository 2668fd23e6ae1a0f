// The acknowledgers: delete committed messages in batches and extend the visibility of those
// still in flight (the heartbeat), one thread per queue.
#include "worker_impl.hpp"

namespace mailtrack::worker {

UnixMillis Worker::Impl::heartbeat_due_locked(std::size_t queue_index) const {
    if (!options.heartbeat) return std::numeric_limits<UnixMillis>::max();
    const auto half = std::chrono::milliseconds(options.visibility_timeout).count() / 2;
    const auto& index = by_visibility[queue_index];
    return index.empty() ? std::numeric_limits<UnixMillis>::max() : index.begin()->first - half;
}

// Deletes up to 10 messages of the queue committed by `committed_by`. Returns whether it did
// anything.
bool Worker::Impl::delete_some(std::unique_lock<std::mutex>& lock, std::size_t queue_index, UnixMillis committed_by) {
    auto& queue_of = to_delete[queue_index];
    if (queue_of.empty()) return false;
    const UnixMillis now = clock.now_millis();
    std::vector<std::uint64_t> seqs;
    std::vector<DeleteEntry> entries;
    for (auto it = queue_of.begin(); it != queue_of.end() && entries.size() < QueueClient::k_max_batch;) {
        const Tracked& t = tracked.at(*it);
        if (t.delete_not_before > now || t.committed_at > committed_by) {
            ++it;
            continue;
        }
        entries.push_back({std::string(1, static_cast<char>('0' + entries.size())), t.receipt_handle});
        seqs.push_back(*it);
        it = queue_of.erase(it);
    }
    if (entries.empty()) return false;
    lock.unlock();
    auto outcome = queue.delete_batch(options.queue_urls[queue_index], entries);
    count_call("delete_batch", outcome.has_value());
    lock.lock();

    auto retry_later = [&](std::uint64_t seq, std::string_view code) {
        Tracked& t = tracked.at(seq);
        if (++t.delete_attempts >= k_max_delete_attempts) {
            // It reappears after its visibility timeout and is then recognised as a duplicate.
            metrics.counter(metric::k_delete_failures, {{"code", std::string(code)}}).add();
            abandon_locked(seq);
            return;
        }
        const auto delay =
            std::min<std::int64_t>(options.queue_backoff_initial.count() << std::min(t.delete_attempts, 16),
                                   options.queue_backoff_max.count());
        t.delete_not_before = now + delay;
        queue_of.push_back(seq);
    };
    if (!outcome) {
        const QueueError& e = outcome.error();
        lock.unlock();
        delete_log.failure(clock, "delete failed; will retry",
                           {{"queue", options.queue_urls[queue_index]},
                            {"error", e.describe()},
                            {"messages", static_cast<std::int64_t>(seqs.size())}});
        lock.lock();
        for (const auto seq : seqs) retry_later(seq, kind_label(e.kind));
        return true;
    }
    std::vector<bool> failed(seqs.size(), false);
    for (const EntryFailure& f : outcome->failed) {
        std::size_t index = 0;
        const auto [p, ec] = std::from_chars(f.id.data(), f.id.data() + f.id.size(), index);
        if (ec != std::errc() || index >= seqs.size()) {
            log::warn("delete answer names an unknown entry", {{"id", f.id}});
            continue;
        }
        failed[index] = true;
        const std::uint64_t seq = seqs[index];
        if (f.retryable) {
            retry_later(seq, f.code);
        } else {
            // A stale receipt handle: the message was received again (or already deleted); its
            // next delivery is a duplicate the store recognises.
            metrics.counter(metric::k_delete_failures, {{"code", f.code}}).add();
            log::debug("delete refused", {{"sqs_message_id", tracked.at(seq).message_id}, {"code", f.code}});
            abandon_locked(seq);
        }
    }
    std::int64_t ok = 0;
    for (std::size_t i = 0; i < seqs.size(); ++i) {
        if (failed[i]) continue;
        untrack_locked(seqs[i]);
        ++ok;
    }
    deleted->add(ok);
    update_in_flight_locked();
    room_made_locked();
    if (ok > 0) {
        lock.unlock();
        delete_log.recovered("delete works again");
        lock.lock();
    }
    return true;
}

// Extends the visibility of up to 10 messages of the queue that are past half their timeout.
bool Worker::Impl::heartbeat_some(std::unique_lock<std::mutex>& lock, std::size_t queue_index) {
    const UnixMillis now = clock.now_millis();
    const auto half = std::chrono::milliseconds(options.visibility_timeout).count() / 2;
    std::vector<std::uint64_t> seqs;
    std::vector<VisibilityEntry> entries;
    auto& index = by_visibility[queue_index];
    for (const auto& [visible_at, seq] : index) {
        if (visible_at - half > now || entries.size() == QueueClient::k_max_batch) break;
        entries.push_back({std::string(1, static_cast<char>('0' + entries.size())), tracked.at(seq).receipt_handle,
                           options.visibility_timeout});
        seqs.push_back(seq);
    }
    if (entries.empty()) return false;
    // Pushed forward now so that a failing call is not retried in a tight loop; a failure
    // only means the message may reappear, which is safe.
    for (const auto seq : seqs) {
        Tracked& t = tracked.at(seq);
        index.erase({t.visible_at, seq});
        t.visible_at = now + std::chrono::milliseconds(options.visibility_timeout).count();
        index.emplace(t.visible_at, seq);
    }
    lock.unlock();
    auto outcome = queue.change_visibility_batch(options.queue_urls[queue_index], entries);
    count_call("change_visibility_batch", outcome.has_value());
    if (!outcome) {
        visibility_log.failure(clock, "visibility heartbeat failed; messages may reappear",
                               {{"queue", options.queue_urls[queue_index]}, {"error", outcome.error().describe()}});
        lock.lock();
        return true;
    }
    visibility_extended->add(static_cast<std::int64_t>(entries.size() - outcome->failed.size()));
    for (const auto& f : outcome->failed) {
        log::debug("visibility heartbeat refused for a message; it may reappear", {{"id", f.id}, {"code", f.code}});
    }
    lock.lock();
    return true;
}

void Worker::Impl::run_acknowledger(std::size_t queue_index) {
    std::unique_lock lock(mutex);
    for (;;) {
        if (must_quit_locked()) break;
        if (stopping && !committer_running && to_delete[queue_index].empty()) break;
        if (heartbeat_due_locked(queue_index) <= clock.now_millis() && heartbeat_some(lock, queue_index)) continue;
        // Pollers delete what is committed before their next receive; what they leave for
        // ack_delay is deleted here (everything once stopping, when pollers have gone).
        const bool all = stopping || options.ack_delay.count() == 0;
        const UnixMillis committed_by =
            all ? std::numeric_limits<UnixMillis>::max() : clock.now_millis() - options.ack_delay.count();
        if (delete_some(lock, queue_index, committed_by)) continue;
        // Nothing to do now: wait for deletions, the next heartbeat or a delete retry.
        UnixMillis next = heartbeat_due_locked(queue_index);
        for (const auto seq : to_delete[queue_index]) {
            const Tracked& t = tracked.at(seq);
            next = std::min(next, all ? t.delete_not_before
                                      : std::max(t.delete_not_before, t.committed_at + options.ack_delay.count()));
        }
        const UnixMillis now = clock.now_millis();
        const milliseconds wait = next <= now ? milliseconds{1} : std::min(k_idle_wait, milliseconds(next - now));
        sleeper.wait(lock, ack_cv, wait);
    }
}

}  // namespace mailtrack::worker
