"""Everything a worker reads from ``careline roster``, in one place."""

from __future__ import annotations

WEEKDAY_NAMES = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")

TITLE = "值班表（{zone}）"
NOW = "现在 {when}："
ON_DUTY = "值班 {primary}，备班 {backup}"
NO_BACKUP = "无"
STANDING_IN = "{backup}（顶替休假的 {primary}）"
GAP = "无人值班"
OVERRIDE = "（临时调班）"
SUPERVISORS = "督导：{names}"
NO_SUPERVISORS = "督导：未设置（空档和无人确认的求助将无人可升级）"
NEXT_DAYS = "未来 {days} 天："
SPAN = "  {start} – {end}  {who}"
GAPS = "空档（无人值班，求助会直接通知督导）："
GAP_LINE = "  {start} – {end}"
NO_GAPS = "未来 {days} 天没有空档。"
EMPTY = "还没有排班：config.yml 的 roster 部分没有社工或班次，所有求助都无人值班。"
SEPARATOR = "、"
