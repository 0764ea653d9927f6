"""Chinese for people and access: one's own account, the admins' people page, and their audit labels."""

ZH = {
    # A person's own account (/account)
    "My account": "我的账号",
    "You signed in with a temporary password. Choose your own password to continue.":
        "你使用的是临时密码。请先设置自己的密码，然后才能继续操作。",
    "Change password": "修改密码",
    "Current password": "当前密码",
    "New password": "新密码",
    "New password again": "再次输入新密码",
    "At least 10 characters. Changing it signs you out on every other device.":
        "至少 10 个字符。修改后，你在其他设备上的登录都会失效。",
    "My details": "我的资料",
    "Display name": "显示名称",
    "Mobile number": "手机号",
    "Language": "界面语言",
    "Your details were saved.": "资料已保存。",
    "Your password was changed. You were signed out everywhere else.": "密码已修改，其他设备上的登录已全部退出。",
    # Validation, said the same on the page and through the API's reasons
    "Enter a mainland mobile number: 11 digits starting with 1, e.g. 13800000000.":
        "请输入中国大陆手机号：以 1 开头的 11 位数字，例如 13800000000。",
    "The password needs at least %(min)s characters.": "密码至少需要 %(min)s 个字符。",
    "The current password is wrong.": "当前密码不正确。",
    "Choose a password different from the current one.": "新密码不能与当前密码相同。",
    "The two new passwords differ.": "两次输入的新密码不一致。",
    "This is the last active administrator: make someone else an administrator first.":
        "这是最后一位在用的管理员：请先将其他人设为管理员。",
    # The admins' people page (/settings/people)
    "People": "人员",
    "Deactivating someone signs them out everywhere and revokes their API tokens at once.":
        "停用某人会立即退出其所有登录，并吊销其 API 令牌。",
    "New people are added on the server with:": "新增人员请在服务器上执行：",
    "Temporary password for %(name)s:": "%(name)s 的临时密码：",
    "Shown only now. Hand it over in person or by phone; they must choose their own password when they sign in.":
        "仅显示这一次。请当面或电话告知本人；对方登录后必须设置自己的密码。",
    "Account active": "账号启用中",
    "Deactivated": "已停用",
    "Temporary password": "临时密码",
    "Failed sign-ins: %(num)s": "登录失败 %(num)s 次",
    "Mobile": "手机",
    "Role of %(name)s": "%(name)s 的角色",
    "Change role": "更改角色",
    "Set a temporary password for %(name)s": "为 %(name)s 设置临时密码",
    "Unlock %(name)s": "解除 %(name)s 的登录限制",
    "Unlock": "解除限制",
    "Deactivate %(name)s": "停用 %(name)s",
    "Deactivate": "停用",
    "Reactivate %(name)s": "重新启用 %(name)s",
    "Reactivate": "重新启用",
    "%(name)s's role was changed.": "已更改 %(name)s 的角色。",
    "%(name)s was deactivated and signed out everywhere.": "已停用 %(name)s，其所有登录均已退出。",
    "%(name)s can sign in again.": "%(name)s 可以重新登录了。",
    "%(name)s's failed sign-ins were cleared.": "已清除 %(name)s 的登录失败记录。",
    # The audit log's names for these actions
    "changed a person's details": "修改了人员资料",
    "changed a person's role": "更改了人员角色",
    "deactivated a person": "停用了人员",
    "reactivated a person": "重新启用了人员",
    "set a temporary password": "设置了临时密码",
    "changed their password": "修改了自己的密码",
    "cleared a person's failed sign-ins": "清除了人员的登录失败记录",
}
