"""Chinese for what people see while something the console needs is away (the 503 page)."""

ZH = {
    "Temporarily unavailable": "暂时无法使用",
    "The console cannot reach its database right now. What was already saved is kept.":
        "指挥台暂时连不上数据库。已经保存的内容不会丢失。",
    "This page tries again by itself every %(seconds)s seconds; you stay signed in.":
        "本页每 %(seconds)s 秒自动重试，恢复后即可继续，无需重新登录。",
}
