"""Chinese for the pages behind the links in subscriber mail (confirm, unsubscribe)."""

ZH = {
    "Confirm your subscription": "确认订阅",
    "Once you confirm, incident updates and maintenance notices will go to %(address)s.":
        "确认后，事件动态和维护通知将发送至 %(address)s。",
    "Confirm subscription": "确认订阅",
    "Stop the updates?": "停止接收通知？",
    "After you press the button, nothing more will be sent to %(address)s.":
        "点击下方按钮后，将不再向 %(address)s 发送任何通知。",
}
