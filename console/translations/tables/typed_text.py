"""Chinese for what people see when a save fails: the note next to the form (htmx) and the
typed text offered back on the 503 page."""

ZH = {
    # Next to the form whose save failed (templates/errors/_save_failed.html).
    "Not saved: the console could not be reached. Your text is still here; send it again when the connection is back.":
        "未保存：连不上指挥台。您填写的内容还在，网络恢复后请重新提交。",
    "No answer in time: this may not have been saved. Your text is still here; check in another tab before sending it again.":
        "等待超时：可能没有保存。您填写的内容还在，请先在另一个标签页核对，再决定是否重新提交。",
    "Not saved: the console cannot reach its database right now. Your text is still here; send it again in a few seconds.":
        "未保存：指挥台暂时连不上数据库。您填写的内容还在，请几秒后重新提交。",
    "Not saved: something went wrong on our side (error %(status)s). Your text is still here; try again.":
        "未保存：系统出了点问题（错误 %(status)s）。您填写的内容还在，请重试。",
    "Not saved: the console refused this request (error %(status)s). Your text is still here.":
        "未保存：指挥台拒绝了这次请求（错误 %(status)s）。您填写的内容还在。",
    # The 503 page after a form's POST (templates/errors/unavailable.html).
    "What you just sent was not saved. Send it again in %(seconds)s seconds or so; you stay signed in.":
        "刚才提交的内容没有保存。请在约 %(seconds)s 秒后重新提交，无需重新登录。",
    "What you sent": "您提交的内容",
    "Your text is kept below as you typed it: copy it, or send it again once the console is back.":
        "您填写的文字原样保留在下面：可以复制下来，也可以在指挥台恢复后重新提交。",
    "Your text": "您填写的文字",
    "Your text %(number)s": "您填写的文字 %(number)s",
    "Password or key: not repeated here, type it again": "密码或密钥：此处不回显，请重新输入",
    "Attached files cannot be kept here: attach them again on the form.": "附件无法在此保留：请回到原表单重新添加。",
    "Send again": "重新提交",
}
