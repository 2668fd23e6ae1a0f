#include "mailtrack/config/config.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace mailtrack::config {
namespace {

std::string write_file(const std::string& name, const std::string& text) {
    const auto path = std::filesystem::temp_directory_path() / (name + "-" + std::to_string(::getpid()) + ".toml");
    std::ofstream(path) << text;
    return path.string();
}

TEST(Config, DefaultsFileEnvironmentFlagsInRisingOrder) {
    const auto file = write_file("layers",
                                 "[store]\nsqlite_path = \"from-file.db\"\nsqlite_busy_timeout_ms = 42\n"
                                 "[ingest]\nbatch_size = 7\n");
    auto c = Config::load(file, {{"MAILTRACK_STORE_SQLITE_PATH", "from-env.db"}, {"MAILTRACK_INGEST_BATCH_SIZE", "9"}},
                          {"ingest.batch_size=11"});
    ASSERT_TRUE(c) << c.error().describe();
    EXPECT_EQ(c->text("store.sqlite_path"), "from-env.db");
    EXPECT_EQ(c->source("store.sqlite_path"), Source::environment);
    EXPECT_EQ(c->integer("store.sqlite_busy_timeout_ms"), 42);
    EXPECT_EQ(c->source("store.sqlite_busy_timeout_ms"), Source::file);
    EXPECT_EQ(c->integer("ingest.batch_size"), 11);
    EXPECT_EQ(c->source("ingest.batch_size"), Source::flag);
    EXPECT_EQ(c->text("log.level"), "info");
    EXPECT_EQ(c->source("log.level"), Source::default_value);
    std::filesystem::remove(file);
}

TEST(Config, ErrorsNameWhatIsWrong) {
    const auto unknown = write_file("unknown", "[store]\nsqlite_pth = \"x\"\n");
    auto a = Config::load(unknown, {}, {});
    ASSERT_FALSE(a);
    EXPECT_NE(a.error().message.find("unknown setting store.sqlite_pth"), std::string::npos);

    const auto wrong = write_file("wrong", "[ingest]\nbatch_size = \"many\"\n");
    auto b = Config::load(wrong, {}, {});
    ASSERT_FALSE(b);
    EXPECT_NE(b.error().message.find("ingest.batch_size must be an integer"), std::string::npos);

    const auto broken = write_file("broken", "[ingest\n");
    auto c = Config::load(broken, {}, {});
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error().kind, util::ErrorKind::config);

    auto d = Config::load(std::nullopt, {{"MAILTRACK_INGEST_BATCH_SIZE", "ten"}}, {});
    ASSERT_FALSE(d);
    EXPECT_NE(d.error().message.find("MAILTRACK_INGEST_BATCH_SIZE"), std::string::npos);

    auto e = Config::load(std::nullopt, {}, {"nonsense"});
    ASSERT_FALSE(e);
    EXPECT_NE(e.error().message.find("expected key=value"), std::string::npos);
    for (const auto& f : {unknown, wrong, broken}) std::filesystem::remove(f);
}

TEST(Config, ListsFromFlagsAndEnvironmentAreCommaSeparatedOrTomlArrays) {
    const std::vector<std::string> both{"http://a/1", "http://b/2"};
    auto plain = Config::load(std::nullopt, {}, {"worker.queue_urls=http://a/1, http://b/2"});
    ASSERT_TRUE(plain) << plain.error().describe();
    EXPECT_EQ(plain->list("worker.queue_urls"), both);

    auto array = Config::load(std::nullopt, {}, {R"(worker.queue_urls=["http://a/1","http://b/2"])"});
    ASSERT_TRUE(array) << array.error().describe();
    EXPECT_EQ(array->list("worker.queue_urls"), both);

    auto env = Config::load(std::nullopt, {{"MAILTRACK_WORKER_QUEUE_URLS", R"([ "http://a/1", 'http://b/2' ])"}}, {});
    ASSERT_TRUE(env) << env.error().describe();
    EXPECT_EQ(env->list("worker.queue_urls"), both);
    EXPECT_EQ(env->source("worker.queue_urls"), Source::environment);

    auto empty = Config::load(std::nullopt, {}, {"worker.queue_urls=[]"});
    ASSERT_TRUE(empty) << empty.error().describe();
    EXPECT_TRUE(empty->list("worker.queue_urls").empty());

    // Quotes without brackets, a broken array, an array of numbers: refused with the accepted form.
    const std::pair<const char*, const char*> refused[] = {
        {R"(worker.queue_urls="http://a/1","http://b/2")", "write a list as a,b or as a TOML array"},
        {R"(worker.queue_urls=["http://a/1")", "write a list as a,b or as a TOML array"},
        {"worker.queue_urls=[1, 2]", "must be an array of strings"},
        {R"(worker.queue_urls=["a,b"])", "without commas"},
    };
    for (const auto& [bad, why] : refused) {
        auto r = Config::load(std::nullopt, {}, {bad});
        ASSERT_FALSE(r) << bad << " was accepted";
        EXPECT_NE(r.error().message.find("worker.queue_urls"), std::string::npos) << r.error().message;
        EXPECT_NE(r.error().message.find(why), std::string::npos) << bad << ": " << r.error().message;
    }
}

// Every setting reaches its typed member: changing any one of them changes Config::typed().
TEST(Config, TypedSettingsCarryEverySetting) {
    auto defaults = Config::load(std::nullopt, {}, {});
    ASSERT_TRUE(defaults) << defaults.error().describe();
    EXPECT_EQ(defaults->typed().store.sqlite_path, "mailtrack.db");
    EXPECT_EQ(defaults->typed().worker.max_receive_count, 5);
    EXPECT_TRUE(defaults->typed().worker.heartbeat);
    for (const SettingSpec& spec : settings()) {
        std::string value;
        switch (spec.type) {
            case SettingType::string: value = std::string(spec.default_value) + "x"; break;
            case SettingType::integer: value = std::to_string(std::stoll(std::string(spec.default_value)) + 1); break;
            case SettingType::boolean: value = spec.default_value == "true" ? "false" : "true"; break;
            case SettingType::string_list: value = "a,b"; break;
        }
        auto changed = defaults->with(spec.key, value);
        ASSERT_TRUE(changed) << spec.key << ": " << changed.error().describe();
        EXPECT_NE(changed->typed(), defaults->typed()) << spec.key << " is not in config::Settings";
    }
    auto list = defaults->with("worker.queue_urls", "http://q/1, http://q/2");
    ASSERT_TRUE(list);
    EXPECT_EQ(list->typed().worker.queue_urls, (std::vector<std::string>{"http://q/1", "http://q/2"}));
}

TEST(Config, EnvironmentNames) {
    EXPECT_EQ(env_name("store.sqlite_path"), "MAILTRACK_STORE_SQLITE_PATH");
}

TEST(Config, MaskHidesSecretsAndUrlPasswords) {
    EXPECT_EQ(mask("hunter2", true), "********");
    EXPECT_EQ(mask("", true), "");
    EXPECT_EQ(mask("mysql://app:hunter2@db:3306/mailtrack", false), "mysql://app:********@db:3306/mailtrack");
    EXPECT_EQ(mask("mysql://app@db:3306/mailtrack", false), "mysql://app@db:3306/mailtrack");
}

TEST(Config, ShowListsEverySettingWithItsSource) {
    auto c = Config::load(std::nullopt, {}, {"store.sqlite_path=/tmp/x.db"});
    ASSERT_TRUE(c);
    const std::string shown = c->show();
    EXPECT_NE(shown.find("[store]"), std::string::npos);
    EXPECT_NE(shown.find("sqlite_path = \"/tmp/x.db\"  # flag"), std::string::npos);
    for (const auto& s : settings()) {
        EXPECT_NE(shown.find(std::string(s.key.substr(s.key.find('.') + 1)) + " = "), std::string::npos) << s.key;
    }
}

}  // namespace
}  // namespace mailtrack::config
