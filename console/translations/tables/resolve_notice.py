"""Resolving tells the public: the resolved notice from the composer, the inline public title, their refusals."""

ZH = {
    # The composer (templates/incidents/_update_form.html, _public_title_field.html).
    "Public title": "公开标题",
    "What customers will see this incident called. It is saved with this update.":
        "客户看到的事件名称，会随本次公告一起保存。",
    "Resolving tells customers: this notice goes out and the incident is marked resolved in one step.":
        "标记解决会同时告知客户：这条公告发出，事件即标记为已解决，一步完成。",
    "Publish and mark resolved": "发布并标记解决",
    "Published and marked resolved.": "已发布，事件已标记解决。",
    "Already resolved.": "事件已经标记解决。",
    # Refusals (console/resolve_labels.py).
    "Give the incident a public title first: without one, customers would see nothing.":
        "请先填写公开标题：没有公开标题，客户什么也看不到。",
    "A resolved notice ends the updates: take {next_update_at} out of the text.":
        "解决公告之后不再更新：请从正文中删去 {next_update_at}。",
    "The notice that resolves the incident shows it as resolved.": "用于解决事件的公告，对客户显示的状态必须是“已解决”。",
    "Only someone who may sign updates off can resolve this incident: its notice needs sign-off.":
        "本事件的公告需要签核，只有可以签核的人才能将其标记解决。",
    "This kind has no recovered script: write the resolved notice.": "此类事件没有“已恢复”话术，请自行撰写解决公告。",
    "Only resolving publishes an update together with the status change.": "只有标记解决时，才能随状态变更一起发布公告。",
}
