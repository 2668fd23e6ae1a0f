#pragma once

#include "mailtrack/aws/sesv2.hpp"

namespace mailtrack::sender {

// The part of SES the sender uses; SesV2Api in production, fakes in tests. Thread-safe.
class SesApi {
public:
    virtual ~SesApi() = default;
    // Returns the SES message id.
    virtual aws::Result<std::string> send_email(const aws::SendEmailRequest& request) = 0;
    virtual aws::Result<aws::SesAccount> get_account() = 0;
    // One result per entry, in order.
    virtual aws::Result<std::vector<aws::BulkEmailResult>> send_bulk_email(
        const aws::SendBulkEmailRequest& request) = 0;
};

class SesV2Api final : public SesApi {
public:
    explicit SesV2Api(aws::SesV2Client& client) : m_client(client) {}
    aws::Result<std::string> send_email(const aws::SendEmailRequest& request) override;
    aws::Result<aws::SesAccount> get_account() override;
    aws::Result<std::vector<aws::BulkEmailResult>> send_bulk_email(const aws::SendBulkEmailRequest& request) override;

private:
    aws::SesV2Client& m_client;
};

}  // namespace mailtrack::sender
