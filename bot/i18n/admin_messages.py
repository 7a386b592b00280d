"""Catalogue of the replies of personal rules (/watch, /myrules, /promote), files (/export,
/feeds export|import) and the administrators' feed commands (/feeds, /addfeed, /removefeed,
/reload, /stats and their buttons), with the feed-edit sentences of ``bot.runtime`` (``EN`` and
``VI``, same keys), and ``counted``, the counts these sentences need ("1 feed", "3 feeds";
Vietnamese has one form). Keys are ``watch.``, ``myrules.``, ``promote.``, ``export.``,
``feeds.``, ``addfeed.``, ``feed.``, ``reload.``, ``stats.`` and ``adm.`` (shared framing,
``adm.n.<noun>.one|many`` the counts). Values from users, feeds and the rule engine are filled
in by the caller (escaped there); the engine's own messages stay as they are. Pure data and one
lookup: no I/O.

Vietnamese terms: "quy tắc" rule, "quy tắc cá nhân" personal rule, "nguồn tin" feed, "cảnh báo"
alert, "bản tin tổng hợp" digest, "đăng ký" subscribe, "bài khớp" match; placeholders of
commands in capitals, as the usage lines write them ("TRUY_VẤN").
"""

from __future__ import annotations

from core.models import Language

EN: dict[str, str] = {
    # Shared framing -----------------------------------------------------------------------
    "adm.usage": "❌ {problem}\nUsage: <code>{usage}</code>",
    "adm.usage.watch": "/watch QUERY",
    "adm.usage.myrules": "/myrules [edit N QUERY | pause N | resume N | delete N]",
    "adm.usage.promote": "/promote [PERSONAL-ID NEW-ID]",
    "adm.usage.export": "/export [csv|jsonl] [DAYS]",
    "adm.usage.feeds": "/feeds [export]",
    "adm.usage.addfeed": "/addfeed URL",
    "adm.usage.removefeed": "/removefeed URL",
    "adm.admins_only": "❌ That command is for the bot's administrators.",
    "adm.group_admins": "Only this group's administrators can change its rules.",
    "adm.error": "error",
    "adm.n.story.one": "{n} story",
    "adm.n.story.many": "{n} stories",
    "adm.n.personal_rule.one": "{n} personal rule",
    "adm.n.personal_rule.many": "{n} personal rules",
    "adm.n.day.one": "{n} day",
    "adm.n.day.many": "{n} days",
    "adm.n.match.one": "{n} match",
    "adm.n.match.many": "{n} matches",
    "adm.n.feed.one": "{n} feed",
    "adm.n.feed.many": "{n} feeds",
    "adm.n.item.one": "{n} item",
    "adm.n.item.many": "{n} items",
    "adm.n.existing_item.one": "{n} existing item",
    "adm.n.existing_item.many": "{n} existing items",
    "adm.n.rule.one": "{n} rule",
    "adm.n.rule.many": "{n} rules",
    "adm.n.alert.one": "{n} alert",
    "adm.n.alert.many": "{n} alerts",
    # /watch ---------------------------------------------------------------------------------
    "watch.usage": "Give a query, e.g. /watch Rubio AND Vietnam.",
    "watch.preview": (
        "🔎 Preview of <code>{query}</code>: it would have matched <b>{total}</b> in the last "
        "{days} days ({scanned} searched)."
    ),
    "watch.newest": "Newest:",
    "watch.the_one": "The one match:",
    "watch.choose": "Save it as a rule for this chat, refine it, or cancel.",
    "watch.saving_off": "Saving rules from the chat is turned off by the bot's administrator.",
    "watch.button.save": "💾 Save as rule",
    "watch.button.refine": "✏️ Refine",
    "watch.button.cancel": "✖ Cancel",
    "watch.expired": "This preview has expired; send /watch again.",
    "watch.cancelled": "✖ Cancelled: <code>{query}</code> was not saved.",
    "watch.cancelled.toast": "Cancelled",
    "watch.refine": (
        "✏️ Send /watch again with the refined query (tap the line below to copy it):\n"
        "<code>/watch {query}</code>"
    ),
    "watch.limit": (
        "This chat already has {rules}, the most allowed. Delete one with /myrules first."
    ),
    "watch.saved": (
        "✅ Saved as rule {number} of this chat (<code>{rule_id}</code>): "
        "<code>{query}</code>\nThis chat is subscribed: new matching stories are alerted here. "
        "/myrules lists, edits, pauses and deletes your rules."
    ),
    "watch.saved.toast": "Saved",
    # /myrules -------------------------------------------------------------------------------
    "myrules.none": (
        "This chat has no personal rules. Make one with <code>/watch QUERY</code>: it shows "
        "what the query would have matched, then saves it as a rule for this chat."
    ),
    "myrules.title": "<b>Personal rules of this chat</b> ({count} of {limit})",
    "myrules.paused": " · ⏸ paused",
    "myrules.button.pause": "⏸ Pause {number}",
    "myrules.button.resume": "▶ Resume {number}",
    "myrules.button.delete": "🗑 Delete {number}",
    "myrules.edit_hint": "Change a query: <code>/myrules edit N NEW QUERY</code>.",
    "myrules.unknown_action": "Unknown action “{action}”.",
    "myrules.give_number": "Give the rule's number, as /myrules lists.",
    "myrules.give_query": "Give the new query after the number.",
    "myrules.too_long": "❌ A query has at most {max} characters.",
    "myrules.edited": "✏️ Rule {number} now reads <code>{query}</code>.",
    "myrules.deleted": "🗑 Deleted rule {number}.",
    "myrules.paused_rule": "⏸ Paused rule {number}.",
    "myrules.resumed_rule": "▶ Resumed rule {number}.",
    "myrules.no_such": "❌ This chat has no personal rule {number}. See /myrules.",
    "myrules.deleted.toast": "Deleted rule {number}",
    "myrules.paused.toast": "Paused rule {number}",
    "myrules.resumed.toast": "Resumed rule {number}",
    "myrules.gone.toast": "Rule {number} no longer exists",
    # /promote -------------------------------------------------------------------------------
    "promote.give_ids": "Give the personal rule's id and a new id.",
    "promote.no_such": "There is no personal rule “{rule_id}”; /promote lists them.",
    "promote.taken": "a rule called {new_id} already exists; choose another id",
    "promote.refused": "❌ Not promoted: <pre>{error}</pre>",
    "promote.done": (
        "⬆️ <code>{old_id}</code> is now the rule <code>{new_id}</code> in <code>{path}</code>; "
        "its chat's subscription moved to it."
    ),
    "promote.none": "No chat has saved a personal rule yet.",
    "promote.title": "<b>Personal rules</b> (promote one: <code>/promote ID NEW-ID</code>)",
    # /export --------------------------------------------------------------------------------
    "export.bad_arg": (
        "“{arg}” is neither a format (csv, jsonl) nor a number of days (1-{max_days})."
    ),
    "export.no_subscriptions": "This chat has no subscriptions, so it has no matches to export.",
    "export.no_matches": "No matches in the last {days} to export.",
    "export.too_large": (
        "❌ {matches} make a file too large to send here; ask an administrator for "
        "<code>newswatch export</code>, or export fewer days."
    ),
    "export.caption": "📤 {matches} of this chat's rules from the last {days} ({format}).",
    "export.not_sent": "❌ Telegram did not take the file; try again later.",
    # /feeds export|import -------------------------------------------------------------------
    "feeds.nothing_to_export": "No feeds configured: nothing to export.",
    "feeds.opml_caption": "📤 {feeds} as OPML.",
    "feeds.import_how": (
        "Send the OPML file (as a file) with the caption <code>/feeds import</code>: "
        "each feed in it is checked and added as <code>/addfeed</code> does."
    ),
    "feeds.usage": "Give nothing, export or import.",
    "feeds.import_too_big": "❌ Not imported: the file is larger than 1 MB.",
    "feeds.import_unavailable": "❌ Feed changes are not available here.",
    "feeds.import_broken": "❌ Not imported: {error}.",
    "feeds.import_too_many": (
        "❌ Not imported: the file lists {count} feeds; import at most {max_feeds} at a time "
        "(each one is fetched and checked)."
    ),
    "feeds.import_known": "• {url}: already configured",
    "feeds.import_failed": "Could not add it: {error}",
    "feeds.import_head": "📥 OPML: {feeds} listed, {added} added.",
    # /feeds ---------------------------------------------------------------------------------
    "feeds.none": "No feeds configured. Add one with <code>/addfeed URL</code>.",
    "feeds.title": "<b>Feeds</b> ({count})",
    "feeds.disabled": "⛔ <b>{name}</b> — {url}\n   disabled: {reason}",
    "feeds.in_config": "in config",
    "feeds.failing": "⚠️ <b>{name}</b> — {url}\n   {count} errors in a row: {error}",
    "feeds.healthy": "✅ <b>{name}</b> — {url}\n   {fetched}, items seen: {items}",
    "feeds.fetched_at": "last fetched {when}",
    "feeds.time_format": "%d %b %H:%M",
    "feeds.not_yet": "last fetched not yet",
    "feeds.first_poll": (
        "first poll: {items} recorded; alerts start with the next new story "
        "(NEWSWATCH_ALERT_ON_FIRST_POLL=true alerts on them too)"
    ),
    "feeds.button.pause": "⏸ Pause {number}",
    "feeds.button.resume": "▶ Resume {number}",
    "feeds.button.remove": "🗑 Remove {number}",
    "feeds.button.really_remove": "❗ Really remove {number}",
    "feeds.button.keep": "Keep it",
    "feeds.admins_only": "Only the bot's administrators can change feeds.",
    "feeds.unsupported": "This button is no longer supported; send /feeds again.",
    "feeds.changed": "The feed list changed; send /feeds again.",
    "feeds.press_again": "Press again to remove it",
    "feeds.kept": "Kept",
    "feeds.unavailable": "Feed changes are not available here.",
    "feeds.not_changed": "Not changed: {error}",
    # /addfeed, /removefeed, /reload, /stats -------------------------------------------------
    "addfeed.give_url": "Give one feed address starting with http(s)://.",
    "addfeed.unavailable": "❌ Feed management is not available in this setup.",
    "reload.unavailable": "❌ Reloading is not available in this setup.",
    "stats.title": "<b>Matches, last 7 days</b> (today)",
    "stats.none": "none",
    "stats.outbox": "Outbox: {alerts} waiting.",
    "stats.up": "Up {hours}h{minutes}m at {now}.",
    "stats.summary": "{feeds}, {failing} with problems; {rules}; {alerts} waiting to be sent.",
    "stats.failing_feed": "• {feed}: {reason} ({count} in a row)",
    # Feed edits (bot.runtime.feed_edits, bot.runtime.admin_actions) -------------------------
    "addfeed.already": "{url} is already in the feeds list; nothing changed.",
    "addfeed.failed": "Could not add {url}: {problem}. {next_step}",
    "addfeed.leads_to_known": (
        "{url} leads to {feed_url}, which is already in the feeds list; nothing changed."
    ),
    "addfeed.found_on": " (found on {page})",
    "addfeed.added_word": "Added",
    "addfeed.added_empty": (
        "Added “{title}”: {feed_url}{via}. Warning: the feed has no items right now, so nothing "
        "can match yet; check that this is the feed you meant."
    ),
    "addfeed.added": (
        "Added “{title}” ({items}): {feed_url}{via}. Its first poll records the items it has "
        "without alerting; alerts start with the next new story."
    ),
    "addfeed.file_problem": (
        "Could not add {url}: the feeds file could not be read or written. The operator can "
        "see why with: newswatch doctor"
    ),
    "addfeed.next.private": (
        "Feeds on loopback or private network addresses are refused unless the operator sets "
        "{setting}=true."
    ),
    "addfeed.next.typo": "Check the address for a typo.",
    "addfeed.next.http4": "Check the address: open it in a browser to see what the site answers.",
    "addfeed.next.down": "The site may be down; try again later.",
    "addfeed.next.not_feed": (
        "Give the address of its RSS or Atom feed, or of a page that links one."
    ),
    "addfeed.next.other": "Check the address and try again.",
    "feed.no_such": "No feed with the URL {url} in {file}. /feeds lists them.",
    "feed.remove_unreadable": "Not removed: {file} cannot be read ({error}).",
    "feed.remove_invalid": "Not removed: the file would become invalid ({error}).",
    "feed.remove_others": "Not removed: the edit would change other feeds in {file}.",
    "feed.removed": "Removed {url}. Its stored articles and matches are kept.",
    "feed.change_unreadable": (
        "Not changed: {file} cannot be read or would become invalid ({error})."
    ),
    "feed.change_others": "Not changed: the edit would change other feeds in {file}.",
    "feed.paused": "Paused {url}. Its stored articles and matches are kept.",
    "feed.resumed": "Resumed {url}.",
    "reload.done": "Rules reloaded: {rules} in force.",
    "reload.errors": (
        "The rule files have errors (details sent to admins); {rules} stay in force."
    ),
}

VI: dict[str, str] = {
    # Shared framing -----------------------------------------------------------------------
    "adm.usage": "❌ {problem}\nCách dùng: <code>{usage}</code>",
    "adm.usage.watch": "/watch TRUY_VẤN",
    "adm.usage.myrules": "/myrules [edit N TRUY_VẤN | pause N | resume N | delete N]",
    "adm.usage.promote": "/promote [MÃ_RIÊNG MÃ_MỚI]",
    "adm.usage.export": "/export [csv|jsonl] [SỐ_NGÀY]",
    "adm.usage.feeds": "/feeds [export]",
    "adm.usage.addfeed": "/addfeed URL",
    "adm.usage.removefeed": "/removefeed URL",
    "adm.admins_only": "❌ Lệnh này chỉ dành cho quản trị viên của bot.",
    "adm.group_admins": "Chỉ quản trị viên của nhóm mới được thay đổi quy tắc của nhóm.",
    "adm.error": "lỗi",
    "adm.n.story.one": "{n} bài",
    "adm.n.story.many": "{n} bài",
    "adm.n.personal_rule.one": "{n} quy tắc cá nhân",
    "adm.n.personal_rule.many": "{n} quy tắc cá nhân",
    "adm.n.day.one": "{n} ngày",
    "adm.n.day.many": "{n} ngày",
    "adm.n.match.one": "{n} bài khớp",
    "adm.n.match.many": "{n} bài khớp",
    "adm.n.feed.one": "{n} nguồn tin",
    "adm.n.feed.many": "{n} nguồn tin",
    "adm.n.item.one": "{n} mục",
    "adm.n.item.many": "{n} mục",
    "adm.n.existing_item.one": "{n} mục có sẵn",
    "adm.n.existing_item.many": "{n} mục có sẵn",
    "adm.n.rule.one": "{n} quy tắc",
    "adm.n.rule.many": "{n} quy tắc",
    "adm.n.alert.one": "{n} cảnh báo",
    "adm.n.alert.many": "{n} cảnh báo",
    # /watch ---------------------------------------------------------------------------------
    "watch.usage": "Hãy nhập một truy vấn, ví dụ /watch Rubio AND Vietnam.",
    "watch.preview": (
        "🔎 Xem trước <code>{query}</code>: trong {days} ngày qua, truy vấn này khớp với "
        "<b>{total}</b> (đã tìm trong {scanned})."
    ),
    "watch.newest": "Mới nhất:",
    "watch.the_one": "Bài khớp duy nhất:",
    "watch.choose": "Lưu truy vấn thành quy tắc của cuộc trò chuyện này, sửa lại, hoặc hủy.",
    "watch.saving_off": "Quản trị viên của bot đã tắt việc lưu quy tắc từ cuộc trò chuyện.",
    "watch.button.save": "💾 Lưu thành quy tắc",
    "watch.button.refine": "✏️ Sửa lại",
    "watch.button.cancel": "✖ Hủy",
    "watch.expired": "Bản xem trước này đã hết hạn; hãy gửi lại /watch.",
    "watch.cancelled": "✖ Đã hủy: <code>{query}</code> không được lưu.",
    "watch.cancelled.toast": "Đã hủy",
    "watch.refine": (
        "✏️ Hãy gửi lại /watch với truy vấn đã sửa (chạm vào dòng dưới đây để sao chép):\n"
        "<code>/watch {query}</code>"
    ),
    "watch.limit": (
        "Cuộc trò chuyện này đã có {rules}, mức tối đa cho phép. Hãy xóa bớt một quy tắc bằng "
        "/myrules trước."
    ),
    "watch.saved": (
        "✅ Đã lưu thành quy tắc {number} của cuộc trò chuyện này (<code>{rule_id}</code>): "
        "<code>{query}</code>\nCuộc trò chuyện này đã được đăng ký: bài mới nào khớp sẽ được "
        "gửi cảnh báo tại đây. /myrules để xem, sửa, tạm dừng và xóa các quy tắc của bạn."
    ),
    "watch.saved.toast": "Đã lưu",
    # /myrules -------------------------------------------------------------------------------
    "myrules.none": (
        "Cuộc trò chuyện này chưa có quy tắc cá nhân nào. Hãy tạo một quy tắc với "
        "<code>/watch TRUY_VẤN</code>: lệnh này cho xem truy vấn lẽ ra đã khớp với những bài nào, "
        "rồi lưu nó thành quy tắc của cuộc trò chuyện này."
    ),
    "myrules.title": "<b>Quy tắc cá nhân của cuộc trò chuyện này</b> ({count}/{limit})",
    "myrules.paused": " · ⏸ đang tạm dừng",
    "myrules.button.pause": "⏸ Tạm dừng {number}",
    "myrules.button.resume": "▶ Tiếp tục {number}",
    "myrules.button.delete": "🗑 Xóa {number}",
    "myrules.edit_hint": "Sửa một truy vấn: <code>/myrules edit N TRUY_VẤN_MỚI</code>.",
    "myrules.unknown_action": "Không có thao tác “{action}”.",
    "myrules.give_number": "Hãy nhập số thứ tự của quy tắc, như trong danh sách của /myrules.",
    "myrules.give_query": "Hãy nhập truy vấn mới sau số thứ tự.",
    "myrules.too_long": "❌ Một truy vấn dài tối đa {max} ký tự.",
    "myrules.edited": "✏️ Quy tắc {number} giờ là <code>{query}</code>.",
    "myrules.deleted": "🗑 Đã xóa quy tắc {number}.",
    "myrules.paused_rule": "⏸ Đã tạm dừng quy tắc {number}.",
    "myrules.resumed_rule": "▶ Đã cho quy tắc {number} hoạt động lại.",
    "myrules.no_such": "❌ Cuộc trò chuyện này không có quy tắc cá nhân {number}. Xem /myrules.",
    "myrules.deleted.toast": "Đã xóa quy tắc {number}",
    "myrules.paused.toast": "Đã tạm dừng quy tắc {number}",
    "myrules.resumed.toast": "Quy tắc {number} đã hoạt động lại",
    "myrules.gone.toast": "Quy tắc {number} không còn nữa",
    # /promote -------------------------------------------------------------------------------
    "promote.give_ids": "Hãy nhập mã của quy tắc cá nhân và một mã mới.",
    "promote.no_such": "Không có quy tắc cá nhân “{rule_id}”; /promote liệt kê các quy tắc đó.",
    "promote.taken": "đã có một quy tắc tên {new_id}; hãy chọn mã khác",
    "promote.refused": "❌ Chưa chuyển vào tệp quy tắc: <pre>{error}</pre>",
    "promote.done": (
        "⬆️ <code>{old_id}</code> giờ là quy tắc <code>{new_id}</code> trong "
        "<code>{path}</code>; đăng ký của cuộc trò chuyện sở hữu nó đã chuyển sang quy tắc này."
    ),
    "promote.none": "Chưa có cuộc trò chuyện nào lưu quy tắc cá nhân.",
    "promote.title": (
        "<b>Quy tắc cá nhân</b> (chuyển một quy tắc vào tệp quy tắc: "
        "<code>/promote MÃ_RIÊNG MÃ_MỚI</code>)"
    ),
    # /export --------------------------------------------------------------------------------
    "export.bad_arg": (
        "“{arg}” không phải là định dạng (csv, jsonl) cũng không phải là số ngày (1-{max_days})."
    ),
    "export.no_subscriptions": (
        "Cuộc trò chuyện này chưa đăng ký quy tắc nào, nên không có bài khớp nào để xuất."
    ),
    "export.no_matches": "Không có bài khớp nào trong {days} qua để xuất.",
    "export.too_large": (
        "❌ {matches} tạo thành một tệp quá lớn để gửi ở đây; hãy nhờ quản trị viên dùng "
        "<code>newswatch export</code>, hoặc xuất ít ngày hơn."
    ),
    "export.caption": (
        "📤 {matches} của các quy tắc mà cuộc trò chuyện này đăng ký, trong {days} qua ({format})."
    ),
    "export.not_sent": "❌ Telegram không nhận tệp; hãy thử lại sau.",
    # /feeds export|import -------------------------------------------------------------------
    "feeds.nothing_to_export": "Chưa cấu hình nguồn tin nào: không có gì để xuất.",
    "feeds.opml_caption": "📤 {feeds} dạng OPML.",
    "feeds.import_how": (
        "Hãy gửi tệp OPML (dưới dạng tệp) kèm chú thích <code>/feeds import</code>: từng nguồn "
        "tin trong tệp được kiểm tra và thêm vào giống như khi dùng <code>/addfeed</code>."
    ),
    "feeds.usage": "Lệnh này không cần tham số, hoặc dùng export hay import.",
    "feeds.import_too_big": "❌ Chưa nhập: tệp lớn hơn 1 MB.",
    "feeds.import_unavailable": "❌ Không thể thay đổi nguồn tin ở đây.",
    "feeds.import_broken": "❌ Chưa nhập: {error}.",
    "feeds.import_too_many": (
        "❌ Chưa nhập: tệp liệt kê {count} nguồn tin; mỗi lần chỉ nhập tối đa {max_feeds} "
        "(từng nguồn tin đều được tải về và kiểm tra)."
    ),
    "feeds.import_known": "• {url}: đã có trong cấu hình",
    "feeds.import_failed": "Không thêm được: {error}",
    "feeds.import_head": "📥 OPML: tệp liệt kê {feeds}, đã thêm {added}.",
    # /feeds ---------------------------------------------------------------------------------
    "feeds.none": "Chưa cấu hình nguồn tin nào. Thêm nguồn tin với <code>/addfeed URL</code>.",
    "feeds.title": "<b>Nguồn tin</b> ({count})",
    "feeds.disabled": "⛔ <b>{name}</b> — {url}\n   đã tắt: {reason}",
    "feeds.in_config": "trong cấu hình",
    "feeds.failing": "⚠️ <b>{name}</b> — {url}\n   {count} lỗi liên tiếp: {error}",
    "feeds.healthy": "✅ <b>{name}</b> — {url}\n   {fetched}, đã thấy {items} mục",
    "feeds.fetched_at": "tải gần nhất lúc {when}",
    "feeds.time_format": "%H:%M %d/%m",
    "feeds.not_yet": "chưa tải lần nào",
    "feeds.first_poll": (
        "lần tải đầu: đã ghi nhận {items}; cảnh báo bắt đầu từ bài mới tiếp theo "
        "(NEWSWATCH_ALERT_ON_FIRST_POLL=true để cảnh báo cả những mục này)"
    ),
    "feeds.button.pause": "⏸ Tạm dừng {number}",
    "feeds.button.resume": "▶ Tiếp tục {number}",
    "feeds.button.remove": "🗑 Xóa {number}",
    "feeds.button.really_remove": "❗ Chắc chắn xóa {number}",
    "feeds.button.keep": "Giữ lại",
    "feeds.admins_only": "Chỉ quản trị viên của bot mới được thay đổi nguồn tin.",
    "feeds.unsupported": "Nút này không còn được hỗ trợ; hãy gửi lại /feeds.",
    "feeds.changed": "Danh sách nguồn tin đã thay đổi; hãy gửi lại /feeds.",
    "feeds.press_again": "Bấm lần nữa để xóa",
    "feeds.kept": "Đã giữ lại",
    "feeds.unavailable": "Không thể thay đổi nguồn tin ở đây.",
    "feeds.not_changed": "Chưa thay đổi: {error}",
    # /addfeed, /removefeed, /reload, /stats -------------------------------------------------
    "addfeed.give_url": "Hãy nhập một địa chỉ nguồn tin bắt đầu bằng http(s)://.",
    "addfeed.unavailable": "❌ Bản cài đặt này không có chức năng quản lý nguồn tin.",
    "reload.unavailable": "❌ Bản cài đặt này không có chức năng tải lại quy tắc.",
    "stats.title": "<b>Bài khớp trong 7 ngày qua</b> (hôm nay)",
    "stats.none": "không có",
    "stats.outbox": "Hàng đợi gửi: {alerts} đang chờ.",
    "stats.up": "Đã chạy {hours} giờ {minutes} phút, lúc {now}.",
    "stats.summary": "{feeds}, {failing} nguồn tin có vấn đề; {rules}; {alerts} đang chờ gửi.",
    "stats.failing_feed": "• {feed}: {reason} ({count} lần liên tiếp)",
    # Feed edits (bot.runtime.feed_edits, bot.runtime.admin_actions) -------------------------
    "addfeed.already": "{url} đã có trong danh sách nguồn tin; không có gì thay đổi.",
    "addfeed.failed": "Không thêm được {url}: {problem}. {next_step}",
    "addfeed.leads_to_known": (
        "{url} dẫn đến {feed_url}, nguồn tin đã có trong danh sách; không có gì thay đổi."
    ),
    "addfeed.found_on": " (tìm thấy trên {page})",
    "addfeed.added_word": "Đã thêm",
    "addfeed.added_empty": (
        "Đã thêm “{title}”: {feed_url}{via}. Lưu ý: nguồn tin hiện chưa có mục nào nên chưa "
        "có gì để khớp; hãy kiểm tra đây đúng là nguồn tin bạn muốn."
    ),
    "addfeed.added": (
        "Đã thêm “{title}” ({items}): {feed_url}{via}. Lần tải đầu ghi nhận các mục hiện có mà "
        "không gửi cảnh báo; cảnh báo bắt đầu từ bài mới tiếp theo."
    ),
    "addfeed.file_problem": (
        "Không thêm được {url}: không đọc hoặc ghi được tệp nguồn tin. Người vận hành có thể "
        "xem nguyên nhân bằng lệnh: newswatch doctor"
    ),
    "addfeed.next.private": (
        "Nguồn tin ở địa chỉ loopback hoặc mạng nội bộ bị từ chối, trừ khi người vận hành đặt "
        "{setting}=true."
    ),
    "addfeed.next.typo": "Hãy kiểm tra xem địa chỉ có bị gõ sai không.",
    "addfeed.next.http4": (
        "Hãy kiểm tra địa chỉ: mở nó trong trình duyệt để xem trang web trả lời gì."
    ),
    "addfeed.next.down": "Trang web có thể đang gặp sự cố; hãy thử lại sau.",
    "addfeed.next.not_feed": (
        "Hãy nhập địa chỉ nguồn RSS hoặc Atom của trang, hoặc của một trang có liên kết tới "
        "nguồn đó."
    ),
    "addfeed.next.other": "Hãy kiểm tra địa chỉ rồi thử lại.",
    "feed.no_such": (
        "Không có nguồn tin nào có URL {url} trong {file}. /feeds liệt kê các nguồn tin."
    ),
    "feed.remove_unreadable": "Chưa xóa: không đọc được {file} ({error}).",
    "feed.remove_invalid": "Chưa xóa: tệp sẽ trở nên không hợp lệ ({error}).",
    "feed.remove_others": (
        "Chưa xóa: thao tác này sẽ làm thay đổi cả các nguồn tin khác trong {file}."
    ),
    "feed.removed": (
        "Đã xóa {url}. Các bài viết đã lưu và các bài khớp của nguồn tin vẫn được giữ."
    ),
    "feed.change_unreadable": (
        "Chưa thay đổi: không đọc được {file} hoặc tệp sẽ trở nên không hợp lệ ({error})."
    ),
    "feed.change_others": (
        "Chưa thay đổi: thao tác này sẽ làm thay đổi cả các nguồn tin khác trong {file}."
    ),
    "feed.paused": (
        "Đã tạm dừng {url}. Các bài viết đã lưu và các bài khớp của nguồn tin vẫn được giữ."
    ),
    "feed.resumed": "Đã cho {url} hoạt động lại.",
    "reload.done": "Đã tải lại quy tắc: {rules} đang có hiệu lực.",
    "reload.errors": (
        "Các tệp quy tắc có lỗi (chi tiết đã gửi cho quản trị viên); {rules} vẫn giữ hiệu lực."
    ),
}


def counted(language: Language | None, n: int, noun: str) -> str:
    """``n`` and ``noun`` in ``language``: ``counted(None, 3, "feed")`` -> ``3 feeds``,
    ``counted(Language.VI, 3, "feed")`` -> ``3 nguồn tin`` (``adm.n.<noun>.one|many``)."""
    catalogue = VI if language is Language.VI else EN
    return catalogue[f"adm.n.{noun}.{'one' if n == 1 else 'many'}"].format(n=n)
