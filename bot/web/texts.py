"""Everything the staff pages say, in one place (Simplified Chinese).

Labels that other parts of Careline already name (priority, channel, risk, status) are taken
from where they are named, so a worker reads the same word on the page and in the notice.
"""

from __future__ import annotations

from bot.notifiers.texts import CHANNEL_LABELS, PRIORITY_LABELS
from bot.texts import FOLLOW_UP_LABELS, STATUS_LABELS
from handlers.texts import INTENT_LABELS, RISK_LABELS

__all__ = [
    "CHANNEL_LABELS",
    "FOLLOW_UP_LABELS",
    "INTENT_LABELS",
    "PRIORITY_LABELS",
    "RISK_LABELS",
    "STATUS_LABELS",
]

LANG = "zh-CN"
SITE = "妈妈关爱 · Careline"
TIME_FORMAT = "%m月%d日 %H:%M"

# The summary.
CASE = "求助编号 #{id}"
PSEUDONYM = "求助人"
PRIORITY = "优先级"
RISK = "风险"
REASONS = "情况"
CHANNEL = "渠道"
OPENED = "开始时间"
DUE = "处理时限"
STATUS = "状态"
LEVEL = "当前通知"
LEVEL_LABELS: dict[int, str] = {0: "值班社工", 1: "备班社工", 2: "督导"}
FOR_YOU = "{name}，这条求助需要有人尽快接手。"

# The two buttons.
ACKNOWLEDGE = "我来处理"
HAND_BACK = "转给其他人"
HAND_BACK_HINT = "如果你现在无法处理，请点“转给其他人”，系统会立即通知下一位同事。"

# After a button.
ACKNOWLEDGED_TITLE = "已由你接手"
ACKNOWLEDGED_BODY = "谢谢你。系统已停止继续通知，并告知其他同事此求助已有人接手。请尽快联系求助人。"
HANDED_BACK_TITLE = "已转给其他人"
HANDED_BACK_BODY = "系统已立即通知下一位同事。此链接已失效。"

# The case is no longer open to this link.
TAKEN_TITLE = "已有人接手"
TAKEN_BODY = "{name} 已于 {when} 接手此求助，你无需再处理。"
TAKEN_SOMEONE = "其他同事"
RESOLVED_TITLE = "此求助已结案"
RESOLVED_BODY = "此求助已于 {when} 处理完毕，你无需再处理。"
YOU_HANDED_BACK_TITLE = "你已转给其他人"
YOU_HANDED_BACK_BODY = "你已将此求助转给其他同事，此链接不能再用于接手。"

# A link that cannot be used.
USED_TITLE = "此链接已使用"
USED_BODY = "每个确认链接只能使用一次。如需查看进展，请联系督导或登录 Careline。"
EXPIRED_TITLE = "此链接已过期"
EXPIRED_BODY = "确认链接有时限。如求助仍需处理，系统会再次通知相关同事。"
FORGED_TITLE = "链接无效"
FORGED_BODY = "此链接未通过校验，请使用通知中的原始链接。"
MALFORMED_TITLE = "链接不完整"
MALFORMED_BODY = "链接格式有误，请检查是否完整复制了通知中的链接。"
NOT_FOUND_TITLE = "找不到此求助"
NOT_FOUND_BODY = "此求助不存在，请联系督导。"
FORM_EXPIRED_TITLE = "页面已失效"
FORM_EXPIRED_BODY = "为了安全，请重新打开通知中的链接后再操作。"
BAD_ACTION_TITLE = "无法识别的操作"
BAD_ACTION_BODY = "请重新打开通知中的链接，再点击页面上的按钮。"
NOTHING_CHANGED = "本次操作未作任何更改。"

# --- The staff pages (sign-in, layout, home, admin). -----------------------------------------
SKIP_TO_MAIN = "跳到正文"
NAV_LABEL = "主导航"
NAV_QUEUE = "求助队列"
NAV_CONTACTS = "服务记录"
NAV_REPORTS = "统计报表"
NAV_ADMIN = "系统管理"
SIGNED_IN_AS = "当前用户：{name}（{role}）"
SIGN_OUT = "退出登录"
ROLE_LABELS = {"social_worker": "社工", "supervisor": "督导", "admin": "管理员"}

SIGN_IN_TITLE = "工作人员登录"
USERNAME = "用户名"
PASSWORD = "密码"
SIGN_IN = "登录"
SIGN_IN_WRONG = "用户名或密码不正确。"
# How the audit log names a failed sign-in whose username no account has (never the text).
SIGN_IN_UNKNOWN_USERNAME = "未知用户名#{digest}"
SIGN_IN_EMPTY_USERNAME = "（空用户名）"
SIGN_IN_LOCKED = "登录失败次数过多，请15分钟后再试，或联系管理员。"
SIGN_IN_EXPIRED = "页面已过期，请重新输入后登录。"
SIGN_IN_UNAVAILABLE = "登录暂不可用：服务未配置会话密钥（CARELINE_SESSION_SECRET）。"
CSRF_REFUSED = "表单已过期或来源不明，未做任何更改。请返回页面刷新后重试。"
FORBIDDEN = "您的账号没有查看此页面的权限。"

HOME_TITLE = "工作台"
HOME_INTRO = "请选择要进入的页面："

ADMIN_TITLE = "系统管理"
ADMIN_USERS = "工作人员账号"
ADMIN_USERS_HINT = (
    "新增账号或重置密码请在服务器上运行 careline users add / careline users reset"
    "（新密码只显示一次）。"
)
ADMIN_USERNAME = "用户名（排班编号）"
ADMIN_NAME = "姓名"
ADMIN_ROLE = "角色"
ADMIN_ACTIVE = "状态"
ADMIN_ACTIVE_YES = "启用"
ADMIN_ACTIVE_NO = "停用"
ADMIN_CONFIG = "当前配置（config.yml，不含排班）"
ADMIN_SECRETS = "密钥（仅显示是否已设置）"

# Lists and filters, on every page that has them.
FILTER = "筛选"
CLEAR_FILTERS = "清除筛选"
DATE_FROM = "开始日期"
DATE_TO = "结束日期"
NOTHING_FOUND = "没有符合条件的记录。"
BAD_FILTER = "筛选条件有误（{fields}），请返回修改后重试。"
OLDER = "更早的记录"
NEWER = "较新的记录"

NAV_AUDIT = "审计日志"
AUDIT_TITLE = "审计日志"
AUDIT_AT = "时间"
AUDIT_ACTOR = "操作人"
AUDIT_ACTION = "操作"
AUDIT_OBJECT = "对象"
AUDIT_DETAIL = "详情"

# --- the staff dashboard: the escalation queue ----------------------------------------------
QUEUE_TITLE = "求助队列"
QUEUE_EMPTY = "目前没有待处理的求助。"
QUEUE_LIVE = "队列会自动更新，无需刷新页面。"
QUEUE_OFFLINE = "实时更新已中断，正在重新连接…"
QUEUE_UPDATED = "队列已更新"
WAITING = "已等待"
SLA = "处理时限"
SLA_LEFT = "剩余 {duration}"
SLA_OVERDUE = "已超时 {duration}"
TAKEN_BY = "接手人"
NOBODY_YET = "尚无人接手"
YOU = "你"
MINUTES = "{n} 分钟"
HOURS_MINUTES = "{h} 小时 {m} 分钟"
DAYS_HOURS = "{d} 天 {h} 小时"
NOTE_OPTIONAL = "备注（可选）"
NOTE = "备注"
RESOLVE = "结案"
OPEN_CASE = "查看个案"
RISK_REASONS = "风险原因"

# After an action on the queue.
DONE_ACKNOWLEDGED = "你已接手求助 #{id}。系统已停止继续通知，并告知其他同事。"
DONE_RESOLVED = "求助 #{id} 已结案。"
REFUSED_TAKEN = "求助 #{id} 已由 {name} 于 {when} 接手，本次操作未作任何更改。"
REFUSED_RESOLVED = "求助 #{id} 已于 {when} 结案，本次操作未作任何更改。"
REFUSED_NOT_YOURS = "求助 #{id} 不是由你接手的，只有接手人或督导可以结案。本次操作未作任何更改。"
REFUSED_NOT_TAKEN = "求助 #{id} 尚无人接手，请先点“我来处理”接手后再结案。本次操作未作任何更改。"
REFUSED_NOT_FOUND = "找不到求助 #{id}，本次操作未作任何更改。"
NOTE_TOO_LONG = "备注不能超过 {n} 个字，本次操作未作任何更改。"

# --- the staff dashboard: a mother's case ----------------------------------------------------
CASE_TITLE = "个案 {pseudonym}"
CASE_NOT_FOUND = "找不到此个案。"
IDENTITIES = "联系方式"
IDENTITY_KIND_LABELS: dict[str, str] = {
    "wechat_openid": "微信",
    "wecom_userid": "企业微信",
    "group_member": "关爱群成员",
    "phone": "电话",
    "withheld_caller": "未显示号码的来电",
    "api": "接口",
    "terminal": "终端",
}
MASKED_HINT = "你未接手此个案的求助，姓名与号码已隐去。"
MESSAGES = "消息记录"
NO_MESSAGES = "没有消息。"
INBOUND = "求助人"
OUTBOUND = "Careline 回复"
SPOKEN_AT = "通话第 {at} 起"
RECOGNISED_WITH = "语音识别可信度 {confidence:.0%}"
# A segment taken as hers though the call system labelled it otherwise (no segment was
# labelled hers, so the labels could not be right).
LABELLED_AS = "通话系统标为{label}，按求助人的话处理"
SPEAKER_LABELS = {"agent": "接线员", "ivr": "语音导航"}
INTENT = "意图"
CONTACTS = "服务记录"
NO_CONTACTS = "没有服务记录。"
SERVICE_TYPE = "服务类型"
MESSAGE_COUNT = "消息数"
STARTED = "开始"
ENDED = "结束"
HANDLED_BY = "处理人"
ESCALATIONS = "求助升级"
NO_ESCALATIONS = "没有升级记录。"
HISTORY = "处理经过"
FOLLOW_UPS = "回访"
NO_FOLLOW_UPS = "没有回访。"
FOLLOW_UP_KIND_LABELS: dict[str, str] = {"check_in": "关怀回访", "callback": "回电"}
FOLLOW_UP_STATUS_LABELS: dict[str, str] = {
    "scheduled": "已安排",
    "firing": "进行中",
    "sending": "发送中",
    "done": "已完成",
    "failed": "失败",
    "cancelled": "已取消",
}
DUE_AT = "时间"
OUTCOME = "结果"
NOTES = "个案备注"
NO_NOTES = "还没有备注。"
ADD_NOTE = "添加备注"
NOTE_KIND_LABELS: dict[str, str] = {"note": "备注", "acknowledged": "接手时", "resolved": "结案时"}
NOTE_ADDED = "备注已保存。"
NOTE_EMPTY = "备注不能为空，本次操作未作任何更改。"
SCHEDULE_CALLBACK = "安排回电"
CALLBACK_AT = "回电时间"
CALLBACK_SCHEDULED = "回电已安排，到时会通知负责的社工。"
CALLBACK_BAD_TIME = "请填写正确的回电时间，本次操作未作任何更改。"
CALLBACK_IN_PAST = "回电时间不能早于现在，本次操作未作任何更改。"
CALLBACK_NO_CHANNEL = "此求助人没有可用的联系渠道，无法安排回电。"
AUDIT_ACTION_LABELS: dict[str, str] = {
    "escalation.opened": "升级",
    "escalation.raised": "提高优先级",
    "escalation.notified": "已通知",
    "escalation.acknowledged": "接手",
    "escalation.resolved": "结案",
    "escalation.handed_back": "转给其他人",
    "escalation.sla_missed": "超时未接手，通知上一级",
    "ack_link.acknowledged": "通过链接接手",
    "ack_link.refused": "链接操作被拒绝",
    "escalation.refused": "页面操作被拒绝",
}

# --- The contact log, its exports and the reports (supervisors). ----------------------------
CONTACTS_TITLE = "服务记录"
CONTACTS_LIST = "服务记录列表"
CONTACTS_INTRO = "每条记录是一次服务（一人次）。风险为该次服务中消息的最高风险等级。"
FILTERS = "筛选"
FILTER_FROM = "开始日期"
FILTER_TO = "结束日期"
FILTER_CHANNEL = "渠道"
FILTER_SERVICE = "服务类型"
FILTER_INTENT = "事由"
FILTER_WORKER = "处理人"
FILTER_RISK = "风险"
FILTER_SEARCH = "搜索摘要"
FILTER_ANY = "全部"
FILTER_APPLY = "筛选"
FILTER_CLEAR = "清除筛选"
FILTER_INVALID = "筛选条件有误，已忽略：{fields}"
WORKER_CARELINE = "系统自动"
COL_ID = "编号"
COL_STARTED = "开始时间"
COL_ENDED = "结束时间"
COL_PSEUDONYM = "求助人代号"
COL_CHANNEL = "渠道"
COL_SERVICE = "服务类型"
COL_INTENT = "事由"
COL_RISK = "风险"
COL_MESSAGES = "消息数"
COL_WORKER = "处理人"
COL_SUMMARY = "摘要"
CONTACTS_NONE_MATCH = "没有符合条件的服务记录。"
PAGES = "翻页"
PAGE_NEWER = "← 较新的记录"
PAGE_OLDER = "较早的记录 →"
PAGE_FIRST = "回到最新"
EXPORT = "导出（当前筛选条件）"
EXPORT_CSV = "导出 CSV"
EXPORT_XLSX = "导出 Excel"
EXPORT_HINT = "导出内容只含求助人代号，不含姓名和电话；每次导出都会记入审计日志。"
EXPORT_SHEET = "服务记录"
EXPORT_FILENAME = "careline-contacts-{stamp}"

REPORTS_TITLE = "统计报表"
REPORT_YEAR_TITLE = "{year}年 年度统计"
REPORT_MONTH_TITLE = "{year}年{month}月 月度统计"
PERIOD_YEAR = "{year}年"
PERIOD_MONTH = "{year}年{month}月"
REPORT_PERIOD = "统计期间"
REPORT_YEAR = "年份"
REPORT_MONTH = "月份"
REPORT_WHOLE_YEAR = "全年"
REPORT_SHOW = "查看"
REPORT_BAD_PERIOD = "年份或月份无效，已显示今年的统计。"
REPORT_NOTE = "人次：一次服务记为一人次；人数：同一求助人只计一次。时间按{zone}计。"
SERVICES_HEADING = "服务人次（按服务类型）"
SERVICES_CHART = "{period}各{unit}服务人次"
SERVICE_TOTAL = "合计"
SERVICE_PEOPLE = "服务人数"
SERVICE_VISITS = "人次"
UNIT_MONTH = "月"
UNIT_DAY = "日"
MONTH_LABEL = "{month}月"
DAY_LABEL = "{day}日"
ESCALATIONS_HEADING = "升级求助（按优先级）"
ESCALATIONS_CHART = "{period}各优先级升级求助数"
ESC_OPENED = "升级数"
ESC_ACKNOWLEDGED = "已确认"
ESC_MEDIAN = "确认用时中位数"
ESC_MEDIAN_NOTE = "确认用时：从升级到有人确认接手；未确认的不计入中位数。"
ESC_NONE = "—"
FOLLOW_UPS_HEADING = "回访完成情况（已到期）"
FOLLOW_UPS_CHART = "{period}已到期回访的完成数与到期数"
FU_KIND = "类型"
FU_DUE = "已到期"
FU_DONE = "已完成"
FU_FAILED = "未能完成"
FU_OPEN = "进行中"
FU_RATE = "完成率"
TABLE_DATA = "图表数据"


def duration(seconds: float | None) -> str:
    """A median time to acknowledge, as a worker reads it."""
    if seconds is None:
        return ESC_NONE
    minutes = seconds / 60
    if minutes < 1:
        return f"{seconds:.0f} 秒"
    if minutes < 120:
        return f"{minutes:.1f} 分钟"
    return f"{minutes / 60:.1f} 小时"
