"""What the gateway itself prints for people (CLI and terminal chat), in one place."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from handlers.texts import INTENT_LABELS, RISK_LABELS

NONE = "无"
CHAT_WELCOME = "你好，这里是妈妈关爱热线的文字体验。直接输入你想说的话，输入 /quit 结束。"
CHAT_PROMPT = "你："
CHAT_BOT = "小助手："
CHAT_BYE = "再见，照顾好自己。"
LOCAL_MODE = "（服务未运行：已在本地处理，回访会在服务启动后按时执行）"
STATUS_LABELS = {
    "open": "待通知",
    "notified": "已通知",
    "acknowledged": "已确认",
    "resolved": "已解决",
    "scheduled": "已安排",
    "done": "已完成",
    "failed": "失败",
}
FOLLOW_UP_LABELS = {"check_in": "关怀回访", "callback": "回电"}


def _when(value: str, zone: ZoneInfo) -> str:
    return datetime.fromisoformat(value).astimezone(zone).strftime("%Y-%m-%d %H:%M")


def describe_outcome(outcome: dict[str, Any], zone: ZoneInfo) -> list[str]:
    """The lines `careline send` prints: reply, classification, and what was done."""
    lines = []
    reply = outcome.get("reply")
    lines.append(f"回复：{reply['text'] if reply else NONE}")
    parse = outcome.get("classification")
    if parse:
        risk = parse["risk"]
        line = (
            f"分类：{parse['intent']['name']}（{INTENT_LABELS.get(parse['intent']['name'], '')}，"
            f"置信度 {parse['intent']['confidence']:.2f}）  风险：{RISK_LABELS[risk['level']]}"
        )
        if risk["reasons"]:
            line += "  线索：" + "、".join(risk["reasons"])
        lines.append(line)
    contact = outcome.get("contact")
    lines.append(
        f"联系记录：#{contact['id']} {contact['service_type']} · {contact['summary']}"
        if contact
        else f"联系记录：{NONE}"
    )
    escalation = outcome.get("escalation")
    lines.append(
        f"升级：#{escalation['id']} {escalation['priority']} · "
        f"{STATUS_LABELS.get(escalation['status'], escalation['status'])} · "
        f"SLA 截止 {_when(escalation['sla_deadline'], zone)}"
        if escalation
        else f"升级：{NONE}"
    )
    follow_ups = outcome.get("follow_ups") or []
    if not follow_ups:
        lines.append(f"回访：{NONE}")
    for f in follow_ups:
        lines.append(
            f"回访：#{f['id']} {FOLLOW_UP_LABELS.get(f['kind'], f['kind'])} · "
            f"{_when(f['due_at'], zone)} · {STATUS_LABELS.get(f['status'], f['status'])}"
        )
    if outcome.get("duplicate"):
        lines.append("（重复消息：返回首次处理的结果）")
    return lines


# --- `careline escalations` ------------------------------------------------------------------

ESCALATION_NOT_FOUND = "没有编号为 #{id} 的升级。"
ESCALATION_TAKEN = "升级 #{id} 已由 {by} 确认处理，不再继续通知。"
ESCALATION_NOT_TAKEN = "未能确认：{reason}"
NOTICE_ATTEMPTS_HEADING = "通知记录："
HISTORY_HEADING = "处理经过："
LEVEL_LABELS = {0: "值班社工", 1: "备班社工", 2: "督导"}
ATTEMPT_LABELS = {
    "delivered": "已送达",
    "failed_retryable": "未送达（将重试）",
    "failed_permanent": "无法送达",
}


def _local(value: datetime | None, zone: ZoneInfo) -> str:
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S") if value else NONE


def describe_escalation(escalation: Any, pseudonym: str, zone: ZoneInfo) -> list[str]:
    return [
        f"升级 #{escalation.id} · {escalation.priority} · "
        f"{STATUS_LABELS.get(escalation.status, escalation.status)}",
        f"  对象：{pseudonym}    风险：{RISK_LABELS.get(escalation.risk_level, '')}",
        f"  原因：{escalation.reason}",
        f"  当前层级：{LEVEL_LABELS.get(escalation.level, escalation.level)}    "
        f"SLA 截止：{_local(escalation.sla_deadline, zone)}",
        f"  创建：{_local(escalation.created_at, zone)}    "
        f"通知：{_local(escalation.notified_at, zone)}    "
        f"确认：{_local(escalation.acknowledged_at, zone)}    "
        f"解决：{_local(escalation.resolved_at, zone)}",
    ]


def describe_attempt(attempt: Any, zone: ZoneInfo) -> str:
    label = ATTEMPT_LABELS.get(attempt.status, attempt.status)
    reason = f"（{attempt.reason}）" if attempt.reason and attempt.status != "delivered" else ""
    return f"  {_local(attempt.at, zone)}  {attempt.recipient} · {attempt.sender} · {label}{reason}"


def describe_event(event: Any, zone: ZoneInfo) -> str:
    return f"  {_local(event.at, zone)}  {event.actor} · {event.action}"


# --- `careline import-transcripts` -----------------------------------------------------------


def describe_import(name: str, summary: Any) -> list[str]:
    """A file's import: figures, then each refused line with its number and reason."""
    lines = [
        f"{name}：新导入通话 {summary.new_calls} 个（此前已导入 {summary.calls_seen_before} 个），"
        f"新片段 {summary.new_segments} 段，联系记录 {len(summary.contacts)} 条，"
        f"升级 {len(summary.escalations)} 个，跳过 {summary.refused_count} 处"
    ]
    if summary.unhandled_segments:
        lines.append(f"  {summary.unhandled_segments} 段已存储、尚未处理：服务运行时会自动处理")
    for refused in summary.refused:
        where = (
            f"第 {refused.first_line} 行"
            if refused.first_line == refused.last_line
            else f"第 {refused.first_line}–{refused.last_line} 行"
        )
        if refused.call_id:
            where += f"（通话 {refused.call_id}）"
        at = f"第 {refused.bad_line} 行 " if refused.bad_line is not None else ""
        lines.append(f"  跳过 {where}：{at}{refused.reason}")
    if summary.refused_count > len(summary.refused):
        lines.append(f"  ……另有 {summary.refused_count - len(summary.refused)} 处未列出")
    return lines


# --- `careline users` (bot/staff_accounts.py) ----------------------------------------------
USER_ADDED = "已添加账号 {username}（{role}）。"
USER_RESET = "已重置 {username} 的密码，该账号已在所有设备上退出登录。"
USER_DISABLED = "已停用账号 {username}，该账号已在所有设备上退出登录。"
USER_EXISTS = "账号 {username} 已存在（重置密码请用 careline users reset）。"
USER_UNKNOWN = "没有账号 {username}。"
USER_INACTIVE = "已停用"
PASSWORD_ONCE = "密码（只显示这一次，请当面或通过安全渠道交给本人）：{password}"
PASSWORD_TOO_SHORT = "密码至少需要10个字符。"
FIRST_ADMIN_NAME = "管理员"
FIRST_ADMIN_MADE = (
    "已创建第一个管理员账号 {username}，密码（只显示这一次，请妥善保存）：{password}\n"
    "服务启动后在 {sign_in} 登录后台；其他工作人员账号用 careline users add 创建。"
)
