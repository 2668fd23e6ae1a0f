#include <zstd.h>

#include <algorithm>
#include <set>
#include <tuple>

#include "mailtrack/store_sql/batch_effects.hpp"
#include "mailtrack/store_sql/shared_sql.hpp"

#include "mysql_db.hpp"

// The event path: one transaction per batch that archives the candidates' raw JSON, inserts
// their identities, and applies the effects of exactly the events this transaction inserted.

namespace mailtrack::store {

using core::EventId;
using util::ErrorKind;
using util::Result;

Result<ApplyResult> MysqlStore::apply(std::span<const core::SesEvent> events) {
    if (events.empty()) return ApplyResult{};
    // Repeats inside the batch are duplicates before the database is asked; the rest go in
    // the events table's key order, the order every writer locks rows in.
    std::vector<const core::SesEvent*> unique;
    unique.reserve(events.size());
    for (const auto& e : events) unique.push_back(&e);
    std::stable_sort(unique.begin(), unique.end(), [](const core::SesEvent* a, const core::SesEvent* b) {
        return std::tie(a->mail.message_id, a->id) < std::tie(b->mail.message_id, b->id);
    });
    const auto end = std::unique(unique.begin(), unique.end(), [](const core::SesEvent* a, const core::SesEvent* b) {
        return a->mail.message_id == b->mail.message_id && a->id == b->id;
    });
    const auto batch_duplicates = static_cast<std::int64_t>(unique.end() - end);
    unique.erase(end, unique.end());
    Impl& s = *m_impl;
    return s.in_transaction([&](Connection& c) { return s.apply_in_transaction(c, unique, batch_duplicates); });
}

Result<ApplyResult> MysqlStore::Impl::apply_in_transaction(Connection& c, std::span<const core::SesEvent* const> events,
                                                           std::int64_t batch_duplicates) {
    ApplyResult result;
    result.duplicates = batch_duplicates;

    // Which identities are stored already (a plain read: a hint that keeps redelivered raw
    // JSON out of the archive; the insert below is what decides).
    std::set<std::pair<std::string, EventId>> stored;
    {
        std::set<std::string_view> ids;
        for (const auto* e : events) ids.insert(e->mail.message_id);
        std::string sql = "SELECT message_id, event_id FROM events WHERE message_id IN (";
        bool first = true;
        for (auto id : ids) {
            if (!first) sql += ',';
            first = false;
            sql += bin(id);
        }
        sql += ')';
        MAILTRACK_TRY_ASSIGN(Rows rows, c.select(sql, "looking up event identities"));
        while (rows.next()) {
            std::string mid = rows.text();
            stored.emplace(std::move(mid), rows.event_id());
        }
    }
    std::vector<const core::SesEvent*> fresh;
    for (const auto* e : events) {
        if (stored.contains({e->mail.message_id, e->id}))
            ++result.duplicates;
        else
            fresh.push_back(e);
    }
    if (fresh.empty()) return result;

    // The candidates' raw JSON as one zstd frame; its id tags the event rows this
    // transaction inserts.
    std::string raw;
    std::vector<std::pair<std::size_t, std::size_t>> slices;
    for (const auto* e : fresh) {
        slices.emplace_back(raw.size(), e->raw_json.size());
        raw += e->raw_json;
    }
    thread_local std::unique_ptr<ZSTD_CCtx, decltype(&ZSTD_freeCCtx)> cctx(ZSTD_createCCtx(), &ZSTD_freeCCtx);
    if (!cctx) return util::fail(ErrorKind::internal, "zstd: out of memory");
    ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_compressionLevel, options.archive_zstd_level);
    std::string compressed(ZSTD_compressBound(raw.size()), '\0');
    const std::size_t n = ZSTD_compress2(cctx.get(), compressed.data(), compressed.size(), raw.data(), raw.size());
    if (ZSTD_isError(n)) return util::fail(ErrorKind::internal, std::string("zstd: ") + ZSTD_getErrorName(n));
    std::string archive_sql =
        "INSERT INTO event_archive (codec, raw_size, data) VALUES ('zstd', " + std::to_string(raw.size()) + ", ";
    append_hex(archive_sql, compressed.data(), n);
    archive_sql += ')';
    MAILTRACK_TRY(c.exec(archive_sql, "archiving raw events"));
    const auto archive_id = static_cast<std::int64_t>(mysql_insert_id(c.db));

    // Insert the identities. A row another writer inserted first (committed, or committed
    // while we waited on its lock) is left alone: the no-op update counts 0 affected rows.
    std::vector<std::string> rows;
    rows.reserve(fresh.size());
    for (std::size_t i = 0; i < fresh.size(); ++i) {
        const auto& e = *fresh[i];
        rows.push_back("(" + bin(e.mail.message_id) + "," + event_key_literal(e.id) + "," +
                       num(static_cast<std::int64_t>(e.type)) + "," + bin(e.type_name) + "," + num(e.occurred_at) +
                       "," + num(archive_id) + "," + num(static_cast<std::int64_t>(slices[i].first)) + "," +
                       num(static_cast<std::int64_t>(slices[i].second)) + ")");
    }
    std::int64_t inserted = 0;
    {
        const std::string head = "INSERT INTO events (" + std::string(sql::k_event_columns) + ") VALUES ";
        const std::string tail = " ON DUPLICATE KEY UPDATE message_id = message_id";
        std::string sql;
        for (std::size_t i = 0; i < rows.size(); ++i) {
            sql += sql.empty() ? head : ",";
            sql += rows[i];
            if (i + 1 == rows.size() || sql.size() > k_max_statement_bytes) {
                sql += tail;
                MAILTRACK_TRY(c.exec(sql, "recording events"));
                inserted += c.affected();
                sql.clear();
            }
        }
    }
    std::vector<const core::SesEvent*> mine = fresh;
    if (inserted != static_cast<std::int64_t>(fresh.size())) {
        // Another writer got some of them first: only the rows tagged with our archive are ours.
        MAILTRACK_TRY_ASSIGN(Rows tagged,
                             c.select("SELECT message_id, event_id FROM events WHERE archive_id = " + num(archive_id),
                                      "finding new events"));
        std::set<std::pair<std::string, EventId>> ours;
        while (tagged.next()) {
            std::string mid = tagged.text();
            ours.emplace(std::move(mid), tagged.event_id());
        }
        mine.clear();
        for (const auto* e : fresh) {
            if (ours.contains({e->mail.message_id, e->id}))
                mine.push_back(e);
            else
                ++result.duplicates;
        }
    }

    // The new events' effects, joined in memory, then joined into the rows by SQL.
    sql::BatchEffects effects;
    for (const auto* ev : mine) {
        ++(ev->type == core::EventType::unknown ? result.unknown : result.applied);
        effects.add(*ev);
    }
    MAILTRACK_TRY(write_states(c, effects.messages, effects.recipients));
    MAILTRACK_TRY(write_suppressions(c, effects.suppressions));
    rows.clear();
    for (const auto& [a, v] : effects.soft_bounces)
        rows.push_back("(" + bin(a) + "," + num(v.first) + "," + num(v.second) + ")");
    MAILTRACK_TRY(insert_rows(c, stats_upsert_head, rows, stats_upsert_tail, "counting soft bounces"));
    return result;
}

}  // namespace mailtrack::store
