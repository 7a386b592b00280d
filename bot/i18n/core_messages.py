"""Catalogue of /settings, /start, /status's first lines and the answer to an unknown command.
Two dicts, ``EN`` and ``VI``, with the same keys; pure data."""

from __future__ import annotations

EN: dict[str, str] = {
    "settings.title": "⚙️ <b>Settings of this chat</b>",
    "settings.timezone": "🕒 Time zone: {tz}",
    "settings.preview": "🔗 Link previews in alerts: {state}",
    "settings.snippet": "✂️ Snippet in alerts: {length}",
    "settings.language": "🌐 Language of the bot's messages: English",
    "settings.digest_days": "🗞 Digest days: {days}",
    "settings.hint": "Another time zone: <code>/settings tz Area/City</code> (e.g. Europe/Paris).",
    "settings.saved": "Saved",
    "settings.reset": "Back to the defaults",
    "settings.admins_only": "Only this group's administrators can change its settings.",
    "settings.bad_tz": "❌ Unknown time zone “{name}”: use a name such as Asia/Ho_Chi_Minh or "
    "Europe/Paris.",
    "settings.usage": "❌ /settings takes nothing, or <code>tz Area/City</code>.",
    "on": "on",
    "off": "off",
    "button.preview_on": "🔗 Turn link previews on",
    "button.preview_off": "🔗 Turn link previews off",
    "button.defaults": "↺ Defaults",
    "snippet.off": "none",
    "snippet.short": "one sentence",
    "snippet.normal": "normal",
    "snippet.long": "long",
    "days.all": "every day",
    "days.weekdays": "Monday to Friday",
    "start": (
        "👋 I watch news feeds and send you a message when a story matches one of our rules.\n"
        "Each rule is a topic (a person, a treaty, a place); you pick the rules you care about.\n"
        "Alerts come as stories appear, or as an hourly or daily digest if you prefer.\n"
        "\n"
        "Next: see the rules with /rules, or take them all with /subscribe all. /help lists "
        "everything."
    ),
    "status.watching": "👀 Watching {feeds} with {rules}.",
    "status.chat": "This chat: {subscriptions}, {waiting} waiting to be sent.",
    "status.muted": "🔕 Muted until {when}.",
    "unknown": "❌ I don't know {word}. /help lists what I can do.",
}

VI: dict[str, str] = {
    "settings.title": "⚙️ <b>Cài đặt của cuộc trò chuyện này</b>",
    "settings.timezone": "🕒 Múi giờ: {tz}",
    "settings.preview": "🔗 Xem trước liên kết trong cảnh báo: {state}",
    "settings.snippet": "✂️ Đoạn trích trong cảnh báo: {length}",
    "settings.language": "🌐 Ngôn ngữ của bot: Tiếng Việt",
    "settings.digest_days": "🗞 Ngày gửi bản tin tổng hợp: {days}",
    "settings.hint": "Múi giờ khác: <code>/settings tz Khu_vực/Thành_phố</code> (ví dụ "
    "Europe/Paris).",
    "settings.saved": "Đã lưu",
    "settings.reset": "Đã trở về mặc định",
    "settings.admins_only": "Chỉ quản trị viên của nhóm mới được đổi cài đặt của nhóm.",
    "settings.bad_tz": "❌ Không biết múi giờ “{name}”: hãy dùng tên như Asia/Ho_Chi_Minh hoặc "
    "Europe/Paris.",
    "settings.usage": "❌ /settings không cần tham số, hoặc <code>tz Khu_vực/Thành_phố</code>.",
    "on": "bật",
    "off": "tắt",
    "button.preview_on": "🔗 Bật xem trước liên kết",
    "button.preview_off": "🔗 Tắt xem trước liên kết",
    "button.defaults": "↺ Mặc định",
    "snippet.off": "không có",
    "snippet.short": "một câu",
    "snippet.normal": "bình thường",
    "snippet.long": "dài",
    "days.all": "mỗi ngày",
    "days.weekdays": "thứ Hai đến thứ Sáu",
    "start": (
        "👋 Tôi theo dõi các nguồn tin và nhắn cho bạn khi một bài báo khớp với một quy tắc.\n"
        "Mỗi quy tắc là một chủ đề (một người, một hiệp định, một nơi); bạn chọn quy tắc mình "
        "quan tâm.\n"
        "Cảnh báo đến ngay khi có bài, hoặc gộp thành bản tin mỗi giờ hay mỗi ngày nếu bạn "
        "muốn.\n"
        "\n"
        "Tiếp theo: xem các quy tắc với /rules, hoặc nhận tất cả với /subscribe all. /help liệt "
        "kê mọi lệnh."
    ),
    "status.watching": "👀 Đang theo dõi {feeds} nguồn tin với {rules} quy tắc.",
    "status.chat": "Cuộc trò chuyện này: {subscriptions} đăng ký, {waiting} cảnh báo đang chờ gửi.",
    "status.muted": "🔕 Tạm tắt đến {when}.",
    "unknown": "❌ Tôi không biết lệnh {word}. /help liệt kê những gì tôi làm được.",
}
