#include "mailtrack/aws/http.hpp"

#include <strings.h>

namespace mailtrack::aws {

std::string_view find_header(const std::vector<Header>& headers, std::string_view name) noexcept {
    for (const auto& h : headers) {
        if (h.name.size() == name.size() && strncasecmp(h.name.data(), name.data(), name.size()) == 0) return h.value;
    }
    return {};
}

void CancelFlag::set() noexcept {
    m_set.store(true, std::memory_order_release);
    std::lock_guard lock(m_mutex);
    for (const Waker& w : m_wakers) w.wake(w.target);
}

std::uint64_t CancelFlag::on_set(Wake wake, void* target) {
    std::lock_guard lock(m_mutex);
    const std::uint64_t id = m_next_id++;
    m_wakers.push_back({id, wake, target});
    return id;
}

void CancelFlag::forget(std::uint64_t registration) noexcept {
    std::lock_guard lock(m_mutex);
    std::erase_if(m_wakers, [&](const Waker& w) { return w.id == registration; });
}

}  // namespace mailtrack::aws
