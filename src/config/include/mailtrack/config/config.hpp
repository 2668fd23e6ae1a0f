#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mailtrack/config/settings.hpp"
#include "mailtrack/util/error.hpp"

namespace mailtrack::config {

enum class SettingType { string, integer, boolean, string_list };

// One known setting. Every setting can come from the TOML file ([section] key), from the
// environment (MAILTRACK_SECTION_KEY) and from a flag (--set section.key=value), in rising order.
struct SettingSpec {
    std::string_view key;  // "section.name"
    SettingType type;
    std::string_view default_value;  // as it would be written in the environment
    bool secret;                     // masked by `config show`
    std::string_view help;
};

// All settings mailtrack knows, in display order. Later layers add theirs here.
const std::vector<SettingSpec>& settings();

enum class Source { default_value, file, environment, flag };
std::string_view to_string(Source s) noexcept;

// "store.sqlite_path" -> "MAILTRACK_STORE_SQLITE_PATH"
std::string env_name(std::string_view key);

struct Value {
    std::string text;  // lists are kept comma-separated
    Source source = Source::default_value;
};

// The effective configuration. Immutable after load().
class Config {
public:
    // Layers defaults < file (if given) < environment (MAILTRACK_*) < overrides ("key=value").
    // Errors (ErrorKind::config) name the file, key or variable that is wrong: unknown keys in
    // the file, values of the wrong type, malformed overrides.
    static util::Result<Config> load(const std::optional<std::string>& file,
                                     const std::vector<std::pair<std::string, std::string>>& environment,
                                     const std::vector<std::string>& overrides);

    // Every setting, typed (settings.hpp): what the composition root and commands read.
    const Settings& typed() const { return m_typed; }

    // Accessors for known keys; asking for an unknown key is a programming error. For config
    // itself, `config show` and tests: everything else reads typed().
    const std::string& text(std::string_view key) const;
    std::int64_t integer(std::string_view key) const;
    bool boolean(std::string_view key) const;
    std::vector<std::string> list(std::string_view key) const;
    Source source(std::string_view key) const;

    // Returns a copy with `key` set as if by a flag (validated like one).
    util::Result<Config> with(std::string_view key, std::string_view value) const;

    // The effective configuration as TOML, secrets masked, each line commented with its source.
    std::string show() const;
    // The same as a JSON object {key: {value, source}}.
    std::string show_json() const;

private:
    Settings typed_from_values() const;  // typed_settings.cpp

    std::map<std::string, Value, std::less<>> m_values;
    Settings m_typed;
};

// Masks a secret for display: "" stays "", anything else becomes "********"; URL passwords
// (scheme://user:password@host) are masked inside otherwise visible values.
std::string mask(std::string_view value, bool secret);

}  // namespace mailtrack::config
