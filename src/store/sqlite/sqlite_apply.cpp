#include "mailtrack/store_sql/batch_effects.hpp"
#include "mailtrack/store_sql/columns.hpp"

#include "sqlite_db.hpp"

// The event path: one transaction per batch, INSERT OR IGNORE of each identity, the new events'
// effects joined in memory (sql::BatchEffects), one read-merge-write per touched row, and the
// batch's raw JSON as one zstd frame.

namespace mailtrack::store {

using core::MessageState;
using core::RecipientState;
using util::ErrorKind;
using util::Result;

Result<ApplyResult> SqliteStore::apply(std::span<const core::SesEvent> events) {
    if (events.empty()) return ApplyResult{};
    Impl& s = *m_impl;
    return s.in_transaction([&] { return s.apply_in_transaction(events); });
}

Result<void> SqliteStore::Impl::merge_message(MessageState& m) {
    get_message.reset();
    get_message.bind(m.message_id);
    const int rc = get_message.step();
    if (rc == SQLITE_ROW)
        merge_into(m, sql::read_row<MessageState>(sql::k_message_columns, get_message));
    else if (rc != SQLITE_DONE)
        return db_error(db, rc, "reading a message");
    Statement& put = rc == SQLITE_ROW ? update_message : insert_message;
    put.reset();
    put.bind_row(sql::k_message_columns, m);
    MAILTRACK_TRY(run(put, "writing a message"));
    get_message.reset();
    return {};
}

Result<void> SqliteStore::Impl::merge_recipient(RecipientState& r) {
    get_recipient.reset();
    get_recipient.bind(r.message_id);
    get_recipient.bind(r.address);
    const int rc = get_recipient.step();
    if (rc == SQLITE_ROW)
        merge_into(r, sql::read_row<RecipientState>(sql::k_recipient_columns, get_recipient));
    else if (rc != SQLITE_DONE)
        return db_error(db, rc, "reading a recipient");
    Statement& put = rc == SQLITE_ROW ? update_recipient : insert_recipient;
    put.reset();
    put.bind_row(sql::k_recipient_columns, r);
    MAILTRACK_TRY(run(put, "writing a recipient"));
    get_recipient.reset();
    return {};
}

Result<ApplyResult> SqliteStore::Impl::apply_in_transaction(std::span<const core::SesEvent> events) {
    ApplyResult result;
    next_archive.reset();
    if (next_archive.step() != SQLITE_ROW) return db_error(db, sqlite3_errcode(db), "allocating an archive id");
    const std::int64_t archive_id = next_archive.int64();
    archive_buffer.clear();

    // The batch's effects, joined in memory first so each row is read and written once.
    sql::BatchEffects effects;

    for (const core::SesEvent& ev : events) {
        insert_event.reset();
        insert_event.bind(ev.mail.message_id);
        insert_event.bind(ev.id);
        insert_event.bind(static_cast<std::int64_t>(ev.type));
        insert_event.bind(ev.type_name);
        insert_event.bind(ev.occurred_at);
        insert_event.bind(archive_id);
        insert_event.bind(static_cast<std::int64_t>(archive_buffer.size()));
        insert_event.bind(static_cast<std::int64_t>(ev.raw_json.size()));
        MAILTRACK_TRY(run(insert_event, "recording an event"));
        if (sqlite3_changes(db) == 0) {
            ++result.duplicates;
            continue;
        }
        archive_buffer += ev.raw_json;
        ++(ev.type == core::EventType::unknown ? result.unknown : result.applied);

        effects.add(ev);
    }
    if (archive_buffer.empty()) return result;

    for (auto& [id, m] : effects.messages) MAILTRACK_TRY(merge_message(m));
    for (auto& [key, r] : effects.recipients) MAILTRACK_TRY(merge_recipient(r));
    for (auto& [address, x] : effects.suppressions) {
        get_suppression.reset();
        get_suppression.bind(address);
        const int rc = get_suppression.step();
        if (rc == SQLITE_ROW) {
            merge_into(x, sql::read_row<core::Suppression>(sql::k_suppression_columns, get_suppression));
        } else if (rc != SQLITE_DONE) {
            return db_error(db, rc, "reading a suppression");
        }
        put_suppression.reset();
        put_suppression.bind_row(sql::k_suppression_columns, x);
        MAILTRACK_TRY(run(put_suppression, "writing a suppression"));
    }
    for (const auto& [address, v] : effects.soft_bounces) {
        add_soft_bounce.reset();
        add_soft_bounce.bind(address);
        add_soft_bounce.bind(v.first);
        add_soft_bounce.bind(v.second);
        MAILTRACK_TRY(run(add_soft_bounce, "counting a soft bounce"));
    }

    compressed.resize(ZSTD_compressBound(archive_buffer.size()));
    const std::size_t n =
        ZSTD_compress2(cctx, compressed.data(), compressed.size(), archive_buffer.data(), archive_buffer.size());
    if (ZSTD_isError(n)) return util::fail(ErrorKind::internal, std::string("zstd: ") + ZSTD_getErrorName(n));
    insert_archive.reset();
    insert_archive.bind(archive_id);
    insert_archive.bind(static_cast<std::int64_t>(archive_buffer.size()));
    insert_archive.bind_blob(compressed.data(), n);
    MAILTRACK_TRY(run(insert_archive, "archiving raw events"));
    return result;
}

}  // namespace mailtrack::store
