#include "mailtrack/sender/ses_api.hpp"

namespace mailtrack::sender {

aws::Result<std::string> SesV2Api::send_email(const aws::SendEmailRequest& request) {
    return m_client.send_email(request);
}

aws::Result<aws::SesAccount> SesV2Api::get_account() {
    return m_client.get_account();
}

}  // namespace mailtrack::sender

namespace mailtrack::sender {

aws::Result<std::vector<aws::BulkEmailResult>> SesV2Api::send_bulk_email(const aws::SendBulkEmailRequest& request) {
    return m_client.send_bulk_email(request);
}

}  // namespace mailtrack::sender
