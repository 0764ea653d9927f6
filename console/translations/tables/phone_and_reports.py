"""Chinese for the phone menu and the notices that say an action did not happen."""

ZH = {
    "Menu": "菜单",
    "Nothing was waiting to be marked read.": "没有待标记为已读的通知。",
}
