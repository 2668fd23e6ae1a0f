#pragma once

// A small std::expected equivalent. GCC 12 ships std::expected under -std=c++23,
// but clang 14 (our libFuzzer compiler) cannot compile libstdc++'s <expected>,
// and the parser must build with both. Only what the project uses is here.

#include <cassert>
#include <type_traits>
#include <utility>
#include <variant>

namespace mailtrack::util {

template <typename E>
class Unexpected {
public:
    explicit Unexpected(E error) : m_error(std::move(error)) {}
    E& error() & { return m_error; }
    E&& error() && { return std::move(m_error); }

private:
    E m_error;
};

template <typename T, typename E>
class [[nodiscard]] Expected {
public:
    Expected() requires std::is_default_constructible_v<T> : m_storage(std::in_place_index<0>) {}
    Expected(T value) : m_storage(std::in_place_index<0>, std::move(value)) {}  // NOLINT(google-explicit-constructor)
    Expected(Unexpected<E> error)                                               // NOLINT(google-explicit-constructor)
        : m_storage(std::in_place_index<1>, std::move(error).error()) {}

    bool has_value() const noexcept { return m_storage.index() == 0; }
    explicit operator bool() const noexcept { return has_value(); }

    // Precondition for the accessors: the caller checked has_value() (or its negation for error()).
    T& value() & { return *std::get_if<0>(&m_storage); }
    const T& value() const& { return *std::get_if<0>(&m_storage); }
    T&& value() && { return std::move(*std::get_if<0>(&m_storage)); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T&& operator*() && { return std::move(*this).value(); }
    T* operator->() { return std::get_if<0>(&m_storage); }
    const T* operator->() const { return std::get_if<0>(&m_storage); }

    E& error() & { return *std::get_if<1>(&m_storage); }
    const E& error() const& { return *std::get_if<1>(&m_storage); }
    E&& error() && { return std::move(*std::get_if<1>(&m_storage)); }

private:
    std::variant<T, E> m_storage;
};

// Expected<void, E>: success carries nothing.
template <typename E>
class [[nodiscard]] Expected<void, E> {
public:
    Expected() = default;
    Expected(Unexpected<E> error) : m_error(std::move(error).error()), m_failed(true) {}  // NOLINT

    bool has_value() const noexcept { return !m_failed; }
    explicit operator bool() const noexcept { return has_value(); }
    const E& error() const& { return m_error; }
    E&& error() && { return std::move(m_error); }

private:
    E m_error{};
    bool m_failed = false;
};

}  // namespace mailtrack::util

// Error propagation. Both evaluate `expr`, an Expected; on an error they return that error (as
// Unexpected) from the enclosing function, whose error type must be constructible from it.
//
//   MAILTRACK_TRY(store.apply(batch));                      // Expected<void, E> or any Expected
//   MAILTRACK_TRY_ASSIGN(auto rows, store.recipients(f));   // declares `rows` from the value
//   MAILTRACK_TRY_ASSIGN(existing, store.find(id));         // or assigns to an existing variable
#define MAILTRACK_TRY_CONCAT_INNER(a, b) a##b
#define MAILTRACK_TRY_CONCAT(a, b) MAILTRACK_TRY_CONCAT_INNER(a, b)

#define MAILTRACK_TRY(expr)                                                                                         \
    do {                                                                                                            \
        auto&& mailtrack_try_result_ = (expr);                                                                      \
        if (!mailtrack_try_result_) return ::mailtrack::util::Unexpected(std::move(mailtrack_try_result_).error()); \
    } while (false)

#define MAILTRACK_TRY_ASSIGN(var, expr) \
    MAILTRACK_TRY_ASSIGN_IMPL(MAILTRACK_TRY_CONCAT(mailtrack_try_result_, __LINE__), var, expr)
#define MAILTRACK_TRY_ASSIGN_IMPL(tmp, var, expr)                           \
    auto&& tmp = (expr);                                                    \
    if (!tmp) return ::mailtrack::util::Unexpected(std::move(tmp).error()); \
    var = std::move(tmp).value()
