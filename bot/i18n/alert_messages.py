"""Catalogue of the words inside alerts, digests, story updates, catch-ups, trend alerts, admin
notices, alert buttons and /feedback (``EN`` and ``VI``, same keys and placeholders).

Keys are ``date.``, ``alert.``, ``story.``, ``digest.``, ``catchup.``, ``unmute.``,
``alertbutton.``, ``toast.``, ``feedback.``, ``trend.`` and ``notice.``; a key ending in
``.one`` is the singular of the same key ending in ``.many`` (``bot.i18n.forms.counted`` picks
one). The ``date.`` entries are ``strftime`` patterns, numeric fields only in Vietnamese (no
locale needed). The words hold no ``<``, ``>`` or ``&`` except in the entries marked html below
(``tests/bot/i18n`` checks it), so they go into Telegram HTML as they are; what fills a
placeholder (a headline, a name, an error) is the caller's to escape. Under the ``digest.``,
``trend.``, ``unmute.`` and ``feedback.`` prefixes, which are also command names, the keys
say what part of a message they are (``heading_``, ``spike_``, ``marks_``), so that they
cannot meet the command replies' ``<command>.<what>`` keys. Pure data."""

from __future__ import annotations

EN: dict[str, str] = {
    # dates and times as alerts show them (strftime patterns)
    "date.alert_long": "%d %b %Y %H:%M",
    "date.alert_short": "%d %b %H:%M",
    "date.alert_until": "until %H:%M",
    "date.alert_until_day": "until %d %b %H:%M",
    # one alert (bot.delivery.alert_format, story_format)
    "alert.updated": "✏️ updated",
    "alert.untitled": "(untitled)",
    "story.sources": "📰 {count} sources: ",
    "story.more": " +{count} more",
    "story.new_source": "➕ New source for this story: {name}",
    "story.sources_now": " · {count} sources now",
    "story.another_source": "another source",
    # digests (bot.delivery.folding, digests, catchup, rule_mutes, outbox)
    "digest.heading_new.one": "📰 {count} new match",
    "digest.heading_new.many": "📰 {count} new matches",
    "digest.heading_folded": "📰 {count} new matches at once, folded into one message",
    "digest.item_updated": "(updated) {title}",
    "digest.item_sources": "{count} sources: {names}",
    "digest.heading_hourly": "Hourly",
    "digest.heading_daily": "Daily",
    "digest.heading_scheduled.one": "🗞 {kind} digest: {count} new match",
    "digest.heading_scheduled.many": "🗞 {kind} digest: {count} new matches",
    "digest.heading_scheduled_latest": "🗞 {kind} digest: the latest {shown} of {total} new matches "
    "(all of them: /recent)",
    "catchup.away.one": "📬 While this chat was away: {count} match",
    "catchup.away.many": "📬 While this chat was away: {count} matches",
    "catchup.away_latest": "📬 While this chat was away: the latest {shown} of {total} matches "
    "({more} more: /recent)",
    "unmute.heading_catch_up.one": "🔔 Catch-up: {count} match while muted",
    "unmute.heading_catch_up.many": "🔔 Catch-up: {count} matches while muted",
    "unmute.heading_catch_up_latest": " (the latest {shown}; all of them: /recent)",
    # the keyboard under an alert (bot.delivery.alert_buttons)
    "alertbutton.mute_hour": "1 h",
    "alertbutton.mute_day": "1 day",
    "alertbutton.mute_off": "until unmuted",
    "alertbutton.mute": "🔕 {duration}",
    "alertbutton.unsubscribe": "🚫 Unsubscribe",
    "alertbutton.unsubscribed": "🚫 Unsubscribed",
    "alertbutton.resubscribe": "↩ Subscribe again",
    "alertbutton.muted": "🔕 Muted here ({until})",
    "alertbutton.unmute": "🔔 Unmute",
    "alertbutton.not_relevant": "👎 Not relevant",
    "alertbutton.marked": "✔ Marked not relevant",
    "alertbutton.open": "🔗 Open source",
    # the answers to a press (bot.telegram.handlers.alert_buttons)
    "toast.unsupported": "This button is no longer supported.",
    "toast.too_old": "This alert is too old for its buttons (its story was pruned).",
    "toast.admins_only": "Only this group's administrators can change its alerts.",
    "toast.not_relevant": "Noted: not relevant for {tags}. Thanks, the rule's owner sees it.",
    "toast.already": "Already done.",
    "toast.resubscribed": "Subscribed again to {tags}.",
    "toast.not_subscribed": "This chat is no longer subscribed to {tags}.",
    "toast.muted": "Muted {tags} here for {duration}; other rules still alert.",
    "toast.muted_off": "Muted {tags} here until unmuted; other rules still alert.",
    "toast.unmuted.one": "Unmuted {tags}: a catch-up message brings the {count} match made while "
    "it was muted.",
    "toast.unmuted.many": "Unmuted {tags}: a catch-up message brings the {count} matches made "
    "while it was muted.",
    "toast.unmuted_nothing": "Unmuted {tags}: nothing matched while it was muted.",
    "toast.unsubscribed": "Unsubscribed from {tags}.",
    # /feedback, the list of "not relevant" marks (bot.telegram.handlers.alert_buttons);
    # feedback.title is html
    "feedback.marks_none_any": "No story was marked not relevant for any rule.",
    "feedback.marks_none_mine": "No story was marked not relevant for this chat's personal rules.",
    "feedback.marks_scope_all": "every rule",
    "feedback.marks_scope_mine": "this chat's personal rules",
    "feedback.marks_title.one": "<b>Marked not relevant</b> ({count} mark, {scope})",
    "feedback.marks_title.many": "<b>Marked not relevant</b> ({count} marks, {scope})",
    "feedback.marks_more": "… and {count} more (newswatch rules backtest).",
    # trend alerts (bot.trends.alerts); trend.title is html ({name} escaped by the caller)
    "trend.spike_title": "📈 <b>{name}</b>: a spike",
    "trend.spike_title_plain": "📈 {name}: a spike",
    "trend.spike_body": "{count} stories in the hour from {hour}, against about {expected} an "
    "hour over the {window} hours before (p = {p}); spiking since {since}.",
    "trend.spike_console": "On the console",
    # the trend chart's own words (bot.trends.charts); {title} is the rule's name
    "trend.chart_per_day": "{title} — stories per day",
    "trend.chart_per_hour": "{title} — stories per hour",
    "trend.chart_marked": ", {count} marked",
    "trend.chart_axis": "stories",
    "date.chart_day": "%d %b",
    "date.chart_hour": "%d %H:%M",
    "trend.spike_stop": "Stop these alerts: /trend {rule_id} off",
    # admin notices (bot.runtime.admin_notices)
    "notice.rules_rejected": "Rule change rejected; the previous rules stay in force.\n{details}",
    "notice.missing_rules": "Chats are subscribed to rules that no longer exist (the "
    "subscriptions are kept and resume if the rules come back): {rules}",
    "notice.rules_valid": "✅ The rule files are valid again; rules in force: {count}.",
    "notice.feeds_rejected": "Feeds file change rejected; the previous feeds stay.\n{details}",
    "notice.feed_disabled": "{feed}: disabled ({reason}); remove it or fix the URL",
    "notice.feed_failing": "{feed}: failing for {duration} ({errors} errors in a row), last "
    "error: {error}",
    "notice.feed_silent": "{feed}: no new item for {quiet} (usually one every {usual})",
}

VI: dict[str, str] = {
    "date.alert_long": "%H:%M %d/%m/%Y",
    "date.alert_short": "%H:%M %d/%m",
    "date.alert_until": "đến %H:%M",
    "date.alert_until_day": "đến %H:%M %d/%m",
    "alert.updated": "✏️ đã cập nhật",
    "alert.untitled": "(không có tiêu đề)",
    "story.sources": "📰 {count} nguồn tin: ",
    "story.more": " và {count} nguồn khác",
    "story.new_source": "➕ Thêm nguồn tin cho tin này: {name}",
    "story.sources_now": " · nay có {count} nguồn tin",
    "story.another_source": "một nguồn tin khác",
    "digest.heading_new.one": "📰 {count} bài mới khớp quy tắc",
    "digest.heading_new.many": "📰 {count} bài mới khớp quy tắc",
    "digest.heading_folded": "📰 {count} bài mới khớp quy tắc cùng lúc, gộp thành một tin nhắn",
    "digest.item_updated": "(đã cập nhật) {title}",
    "digest.item_sources": "{count} nguồn tin: {names}",
    "digest.heading_hourly": "hằng giờ",
    "digest.heading_daily": "hằng ngày",
    "digest.heading_scheduled.one": "🗞 Bản tin tổng hợp {kind}: {count} bài mới khớp quy tắc",
    "digest.heading_scheduled.many": "🗞 Bản tin tổng hợp {kind}: {count} bài mới khớp quy tắc",
    "digest.heading_scheduled_latest": "🗞 Bản tin tổng hợp {kind}: {shown} bài mới nhất trong "
    "{total} bài khớp quy tắc (xem tất cả: /recent)",
    "catchup.away.one": "📬 Trong lúc cuộc trò chuyện này vắng mặt: {count} bài khớp quy tắc",
    "catchup.away.many": "📬 Trong lúc cuộc trò chuyện này vắng mặt: {count} bài khớp quy tắc",
    "catchup.away_latest": "📬 Trong lúc cuộc trò chuyện này vắng mặt: {shown} bài mới nhất "
    "trong {total} bài khớp quy tắc (còn {more} bài nữa: /recent)",
    "unmute.heading_catch_up.one": "🔔 Tin đã bỏ lỡ: {count} bài khớp quy tắc trong lúc tạm tắt",
    "unmute.heading_catch_up.many": "🔔 Tin đã bỏ lỡ: {count} bài khớp quy tắc trong lúc tạm tắt",
    "unmute.heading_catch_up_latest": " ({shown} bài mới nhất; xem tất cả: /recent)",
    "alertbutton.mute_hour": "1 giờ",
    "alertbutton.mute_day": "1 ngày",
    "alertbutton.mute_off": "đến khi bật lại",
    "alertbutton.mute": "🔕 {duration}",
    "alertbutton.unsubscribe": "🚫 Hủy đăng ký",
    "alertbutton.unsubscribed": "🚫 Đã hủy đăng ký",
    "alertbutton.resubscribe": "↩ Đăng ký lại",
    "alertbutton.muted": "🔕 Đã tạm tắt ở đây ({until})",
    "alertbutton.unmute": "🔔 Bật lại",
    "alertbutton.not_relevant": "👎 Không liên quan",
    "alertbutton.marked": "✔ Đã đánh dấu không liên quan",
    "alertbutton.open": "🔗 Mở bài gốc",
    "toast.unsupported": "Nút này không còn được hỗ trợ.",
    "toast.too_old": "Cảnh báo này đã quá cũ nên các nút không còn dùng được (tin này đã bị dọn "
    "khỏi kho lưu trữ).",
    "toast.admins_only": "Chỉ quản trị viên của nhóm mới được thay đổi cảnh báo của nhóm.",
    "toast.not_relevant": "Đã ghi nhận: không liên quan đến {tags}. Cảm ơn bạn, người phụ trách "
    "quy tắc sẽ thấy điều này.",
    "toast.already": "Đã thực hiện rồi.",
    "toast.resubscribed": "Đã đăng ký lại {tags}.",
    "toast.not_subscribed": "Cuộc trò chuyện này không còn đăng ký {tags}.",
    "toast.muted": "Đã tạm tắt {tags} ở đây trong {duration}; các quy tắc khác vẫn gửi cảnh báo.",
    "toast.muted_off": "Đã tạm tắt {tags} ở đây cho đến khi bật lại; các quy tắc khác vẫn gửi "
    "cảnh báo.",
    "toast.unmuted.one": "Đã bật lại {tags}: {count} bài khớp quy tắc trong lúc tạm tắt sẽ được "
    "gửi gộp trong một tin nhắn.",
    "toast.unmuted.many": "Đã bật lại {tags}: {count} bài khớp quy tắc trong lúc tạm tắt sẽ được "
    "gửi gộp trong một tin nhắn.",
    "toast.unmuted_nothing": "Đã bật lại {tags}: không có bài nào khớp quy tắc trong lúc tạm tắt.",
    "toast.unsubscribed": "Đã hủy đăng ký {tags}.",
    "feedback.marks_none_any": "Chưa có tin nào bị đánh dấu không liên quan cho quy tắc nào.",
    "feedback.marks_none_mine": "Chưa có tin nào bị đánh dấu không liên quan cho các quy tắc "
    "riêng của cuộc trò chuyện này.",
    "feedback.marks_scope_all": "mọi quy tắc",
    "feedback.marks_scope_mine": "các quy tắc riêng của cuộc trò chuyện này",
    "feedback.marks_title.one": "<b>Đã đánh dấu không liên quan</b> ({count} lượt, {scope})",
    "feedback.marks_title.many": "<b>Đã đánh dấu không liên quan</b> ({count} lượt, {scope})",
    "feedback.marks_more": "… và {count} lượt nữa (newswatch rules backtest).",
    "trend.spike_title": "📈 <b>{name}</b>: tăng đột biến",
    "trend.spike_title_plain": "📈 {name}: tăng đột biến",
    "trend.spike_body": "{count} bài trong giờ bắt đầu lúc {hour}, so với khoảng {expected} bài "
    "mỗi giờ trong {window} giờ trước đó (p = {p}); tăng đột biến từ {since}.",
    "trend.spike_console": "Xem trên bảng điều khiển",
    "trend.chart_per_day": "{title} — số bài mỗi ngày",
    "trend.chart_per_hour": "{title} — số bài mỗi giờ",
    "trend.chart_marked": ", {count} lần tăng đột biến",
    "trend.chart_axis": "số bài",
    "date.chart_day": "%d/%m",
    "date.chart_hour": "%H:%M %d/%m",
    "trend.spike_stop": "Tắt các cảnh báo này: /trend {rule_id} off",
    "notice.rules_rejected": "Thay đổi quy tắc bị từ chối; các quy tắc trước đó vẫn có hiệu "
    "lực.\n{details}",
    "notice.missing_rules": "Có cuộc trò chuyện đăng ký những quy tắc không còn tồn tại (các "
    "đăng ký được giữ lại và hoạt động tiếp nếu quy tắc quay lại): {rules}",
    "notice.rules_valid": "✅ Các tệp quy tắc đã hợp lệ trở lại: {count} quy tắc đang có hiệu lực.",
    "notice.feeds_rejected": "Thay đổi tệp nguồn tin bị từ chối; các nguồn tin trước đó được giữ "
    "nguyên.\n{details}",
    "notice.feed_disabled": "{feed}: đã bị vô hiệu hóa ({reason}); hãy gỡ nguồn tin hoặc sửa URL",
    "notice.feed_failing": "{feed}: lỗi liên tục trong {duration} ({errors} lỗi liên tiếp), lỗi "
    "gần nhất: {error}",
    "notice.feed_silent": "{feed}: không có bài mới trong {quiet} (thường cứ {usual} có một bài)",
}
