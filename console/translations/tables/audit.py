"""The audit log (issue 7): the admins' page, its export's column names, its filter messages."""

ZH = {
    "Audit log": "审计日志",
    "Every change made in the console, by people and by the system: who, when, from where, what, and the values before and after. Nobody can edit or delete it.":
        "控制台里的每一次变更，无论由人还是系统发起，都记在这里：谁、什么时候、从哪里、做了什么，以及变更前后的值。任何人都不能修改或删除。",
    "Search": "搜索",
    "Any text in the record": "记录里的任意文字",
    "Done by": "操作人",
    "Name or user id": "姓名或用户编号",
    "Action": "操作",
    "Target type": "对象类型",
    "Target": "对象",
    "From (day)": "开始日期",
    "To (day)": "结束日期",
    "Request id": "请求编号",
    "Clear": "清除",
    "Export what is shown:": "导出当前筛选结果：",
    "from %(ip)s": "来自 %(ip)s",
    "Every change of this request": "同一请求的全部变更",
    "Before": "变更前",
    "After": "变更后",
    "No audit records match.": "没有符合条件的审计记录。",
    "Newest": "最新",
    # The CSV export's column names.
    "Record": "记录编号",
    "Time": "时间",
    "Actor": "操作人",
    "User id": "用户编号",
    "IP": "IP 地址",
    # Filter messages (console.views.audit_filters).
    "Give a date like 2026-11-22 (or a date and time).": "请填写日期，例如 2026-11-22（也可以带上时间）。",
    "The end of the range must come after its start.": "结束时间必须晚于开始时间。",
    "No audit record has this target type.": "审计日志里没有这种类型的对象。",
    "Give a whole number from %(low)s to %(high)s.": "请填写 %(low)s 到 %(high)s 之间的整数。",
}
