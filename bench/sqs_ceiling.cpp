// The queue's own ceiling for bench/worker_bench.py: `threads` loops of ReceiveMessage (10,
// long poll) + DeleteMessageBatch, no processing, until `expect` messages are deleted. The time
// ends with the delete that reaches `expect`; receives still waiting are then cancelled.
// Prints one JSON line: {"deleted":N,"seconds":S,"per_second":R,"calls":C,"receive_errors":E,
// "empty_receives":M,"delete_failures":F}.
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "mailtrack/aws/credentials.hpp"
#include "mailtrack/aws/curl_transport.hpp"
#include "mailtrack/aws/sqs.hpp"

using namespace mailtrack;

int main(int argc, char** argv) {
    if (argc < 5) {
        std::cerr << "usage: sqs_ceiling ENDPOINT QUEUE_URL THREADS EXPECT\n";
        return 2;
    }
    const std::string endpoint = argv[1], queue = argv[2];
    const int threads = std::atoi(argv[3]);
    const long expect = std::atol(argv[4]);
    util::SystemClock clock;
    aws::CurlTransport transport;
    aws::StaticCredentialsProvider creds{aws::Credentials{"test", "test", "", std::nullopt, "bench"}};
    util::RealSleeper sleeper;
    aws::RandomJitter jitter{1};
    aws::RetryOptions retry;
    aws::RetryQuota quota{retry};
    aws::SqsClient sqs({transport, creds, clock, sleeper, jitter, quota, retry}, {endpoint, "us-east-1", "sqs"});

    std::atomic<long> deleted{0}, calls{0}, receive_errors{0}, empty_receives{0}, delete_failures{0};
    aws::CancelFlag done;
    std::atomic<std::int64_t> done_at{0};
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&] {
            while (deleted.load() < expect) {
                aws::ReceiveMessageRequest req;
                req.queue_url = queue;
                req.wait_seconds = 1;
                req.message_attribute_names.clear();
                req.cancel = &done;
                auto got = sqs.receive_message(req);
                if (done.is_set()) break;
                ++calls;
                if (!got)
                    ++receive_errors;
                else if (got->empty())
                    ++empty_receives;
                if (!got || got->empty()) continue;
                std::vector<aws::DeleteEntry> entries;
                for (std::size_t i = 0; i < got->size(); ++i)
                    entries.push_back({std::to_string(i), (*got)[i].receipt_handle});
                auto d = sqs.delete_message_batch(queue, entries);
                ++calls;
                const long ok = d ? static_cast<long>(d->successful.size()) : 0;
                const long before = deleted.fetch_add(ok);
                if (before < expect && before + ok >= expect) {  // exactly one thread crosses
                    done_at = (std::chrono::steady_clock::now() - start).count();
                    done.set();
                }
                delete_failures += d ? static_cast<long>(d->failed.size()) : static_cast<long>(entries.size());
            }
        });
    }
    for (auto& t : pool) t.join();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::duration(done_at.load())).count();
    std::cout << "{\"deleted\":" << deleted.load() << ",\"seconds\":" << s
              << ",\"per_second\":" << static_cast<double>(deleted.load()) / s << ",\"calls\":" << calls.load()
              << ",\"receive_errors\":" << receive_errors.load() << ",\"empty_receives\":" << empty_receives.load()
              << ",\"delete_failures\":" << delete_failures.load() << "}\n";
    return 0;
}
