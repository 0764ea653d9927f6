"""Sign-off reaches the approvers: drafts waiting on the board and the deadlines page, the time filled on approval."""

ZH = {
    "Waiting for sign-off": "待签核的公告",
    "next update time, set on approval": "下次更新时间，批准时填入",
    "filled in when a duty manager approves, from the update cadence at that moment.":
        "由值班主管批准时按当时的更新节奏自动填入。",
}
