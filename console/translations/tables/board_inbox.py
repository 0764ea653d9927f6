"""The board's unowned and overdue rows; the mention inbox's risk order, labels and empty state."""

ZH = {
    "Not acknowledged": "未认领",
    "Critical risk": "严重",
    "High risk": "高",
    "Medium risk": "中",
    "Low risk": "低",
    "Risk score": "风险分",
    "Highest risk first": "风险最高的在前",
    "Newest first": "最新的在前",
    "Posts": "帖子",
    "All posts": "全部帖子",
    "Sort by": "排序",
    "More mentions": "更多提及",
    "Handled in": "已归入事件",
    "Nothing is being watched yet: the inbox fills once a feed is added as a source.":
        "还没有监控任何来源：添加订阅来源后，舆情提及才会出现在这里。",
    "Ask an administrator to add one.": "请管理员添加订阅来源。",
}
