#include <gtest/gtest.h>

#include "mailtrack/store/mysql_store.hpp"

namespace mailtrack::store {
namespace {

TEST(MysqlUrl, FullFormWithTlsOptions) {
    auto o = parse_mysql_url(
        "mysql://admin@db.abc.eu-west-1.rds.amazonaws.com:3307/mailtrack?ssl-mode=verify_ca&ssl-ca=/etc/ssl/"
        "rds%20ca.pem"
        "&pool-size=8&connect-timeout=3");
    ASSERT_TRUE(o) << o.error().describe();
    EXPECT_EQ(o->user, "admin");
    EXPECT_EQ(o->host, "db.abc.eu-west-1.rds.amazonaws.com");
    EXPECT_EQ(o->port, 3307u);
    EXPECT_EQ(o->database, "mailtrack");
    EXPECT_EQ(o->ssl_mode, MysqlSslMode::verify_ca);
    EXPECT_EQ(o->ssl_ca, "/etc/ssl/rds ca.pem");
    EXPECT_EQ(o->pool_size, 8);
    EXPECT_EQ(o->connect_timeout_s, 3);
    EXPECT_TRUE(o->password.empty());
}

TEST(MysqlUrl, DefaultsAreVerifiedTlsOnPort3306) {
    auto o = parse_mysql_url("mysql://u@[::1]/db");
    ASSERT_TRUE(o) << o.error().describe();
    EXPECT_EQ(o->host, "::1");
    EXPECT_EQ(o->port, 3306u);
    EXPECT_EQ(o->ssl_mode, MysqlSslMode::verify_identity);
}

TEST(MysqlUrl, BadUrlsNameWhatIsWrongAndNeverTakeAPassword) {
    struct Case {
        const char* url;
        const char* says;
    };
    for (const Case& c :
         {Case{"postgres://u@h/db", "mysql://"}, Case{"mysql://u:hunter2@h/db", "password in the URL"},
          Case{"mysql://u@h/db?password=hunter2", "password in the URL"}, Case{"mysql://u@h:99999/db", "port"},
          Case{"mysql://u@/db", "no host"}, Case{"mysql://u@h/", "no database"},
          Case{"mysql://u@h/db?ssl-mode=maybe", "ssl-mode"}, Case{"mysql://u@h/db?pool-size=0", "pool-size"},
          Case{"mysql://u@h/db?colour=red", "colour"}, Case{"mysql://u@h/d%zzb", "%-escape"}}) {
        SCOPED_TRACE(c.url);
        auto o = parse_mysql_url(c.url);
        ASSERT_FALSE(o);
        EXPECT_EQ(o.error().kind, util::ErrorKind::config);
        EXPECT_NE(o.error().message.find(c.says), std::string::npos) << o.error().message;
        EXPECT_EQ(o.error().message.find("hunter2"), std::string::npos);
    }
}

}  // namespace
}  // namespace mailtrack::store
