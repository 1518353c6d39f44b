"""Everything a mother reads from the channel adapters themselves (not from the handlers).

``{hotline}`` is the programme's own 关爱热线 from config (``policy.programme_hotline``), never the
national women's-rights line 12338.
"""

from __future__ import annotations

# Official Account / WeCom: the first thing a mother reads after following the account.
WELCOME = (
    "你好，欢迎来到妈妈关爱服务。这里是妇联自强妈妈关怀项目的留言窗口："
    "遇到烦心事、带孩子的难处、找工作或生活上的困难，都可以直接发文字告诉我，"
    "社工会看到并尽快联系你。需要马上和人说话，请拨打关爱热线 {hotline}。"
    "你说的话只有负责你的社工能看到，我们不会把你的身份和内容告诉别人。"
)

# A picture, video, location, link or file: Careline only reads text.
NOT_TEXT = (
    "谢谢你发来的消息。我现在只能看懂文字，可以用文字告诉我发生了什么吗？"
    "如果着急，请直接拨打关爱热线 {hotline}。"
)

# A voice message WeChat could not turn into text.
VOICE_NOT_RECOGNISED = (
    "抱歉，这条语音我没能听清楚。可以用文字再告诉我一次吗？如果着急，请直接拨打关爱热线 {hotline}。"
)

# Text that cannot be kept (empty after cleaning, far too long, broken characters).
TEXT_UNREADABLE = (
    "抱歉，这条消息我没能读到。可以分几次、用简短的文字再发一次吗？"
    "如果着急，请直接拨打关爱热线 {hotline}。"
)

# Said in the care group instead of anything about a crisis: the real answer goes privately.
GROUP_PRIVATE_NOTICE = "已私信你，请留意"


def with_hotline(text: str, hotline: str) -> str:
    return text.format(hotline=hotline)
