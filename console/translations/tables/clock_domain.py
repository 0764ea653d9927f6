"""Chinese for the clock's domain errors (console/i18n.py REASONS)."""

ZH = {
    "Enter whole minutes between %(min)s and %(max)s.": "请输入 %(min)s 到 %(max)s 之间的整数分钟。",
    "Only complaint deadlines can count in business hours.": "只有客诉类时限可以按工作时间计算。",
    "This value is already used.": "该值已被使用。",
    "There is no such rule in this playbook.": "该预案中没有这条规则。",
    "Unknown event.": "未知事件。",
    "Only a complaint's clock can be paused.": "只有客诉事件可以暂停计时。",
    "The end must come after the start.": "结束时间必须晚于开始时间。",
    "A shift lasts at most 7 days.": "一个班次最长 7 天。",
    "Only duty managers and admins can be on duty.": "只有值班主管和管理员可以排班值守。",
    "Working hours must end after they start.": "下班时间必须晚于上班时间。",
}
