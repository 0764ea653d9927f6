"""Single sign-on: the provider button on the sign-in page, refusals, the admins' settings page."""

ZH = {
    # The sign-in page.
    "Sign in with %(name)s": "使用 %(name)s 登录",
    "Or sign in with your console account:": "或使用指挥台账号登录：",
    "Emergency administrator sign-in": "应急管理员登录",
    "Sign-in with a password is switched off. Only the break-glass administrator account may sign in here.":
        "密码登录已关闭，此处仅限应急管理员账号登录。",
    "Sign-in with a password is switched off. Use “Sign in with %(provider)s”.":
        "密码登录已关闭，请使用“使用 %(provider)s 登录”。",
    # Refusals after the provider.
    "Sign-in refused": "登录被拒绝",
    "Back to sign-in": "返回登录",
    "Your %(provider)s account gives you no role in this console, so no account was made for you. "
    "Ask an administrator to add you to the right group at %(provider)s.":
        "您的 %(provider)s 账号在本指挥台没有对应角色，因此没有为您创建账号。请联系管理员在 %(provider)s 中把您加入相应的组。",
    "An account named %(username)s already exists here. An administrator must link it to your "
    "%(provider)s identity before you can sign in with %(provider)s.":
        "本指挥台已有名为 %(username)s 的账号。需要管理员先将它与您的 %(provider)s 身份关联，您才能使用 %(provider)s 登录。",
    "Your %(provider)s user name cannot be used as an account name here. Ask an administrator.":
        "您在 %(provider)s 的用户名不能用作本指挥台的账号名，请联系管理员。",
    "This account is disabled. Ask an administrator.": "该账号已停用，请联系管理员。",
    "This sign-in was not started here or has expired. Start again from the sign-in page.":
        "这次登录不是从本页面发起的，或已过期。请从登录页重新开始。",
    "%(provider)s could not be reached. Try again in a moment, or ask an administrator.":
        "无法连接 %(provider)s。请稍后重试，或联系管理员。",
    "Signing in with %(provider)s failed: its answer could not be verified. Start again, or ask an administrator.":
        "使用 %(provider)s 登录失败：无法验证其返回的身份信息。请重新开始，或联系管理员。",
    # The settings page.
    "Single sign-on": "单点登录",
    "People sign in with your organisation’s OpenID Connect provider. A person signing in for the first time "
    "gets an account with the role of the first rule their claims match.":
        "成员使用贵单位的 OpenID Connect 身份提供方登录。首次登录时，按其声明匹配到的第一条规则的角色创建账号。",
    "Provider": "身份提供方",
    "Offer sign-in with the provider": "在登录页提供身份提供方登录",
    "Name on the sign-in button": "登录按钮上显示的名称",
    "e.g. Company account": "例如：公司账号",
    "Issuer (discovery address)": "签发方（发现地址）",
    "Client ID": "客户端 ID",
    "Client secret": "客户端密钥",
    "Stored: leave blank to keep it": "已保存：留空则保持不变",
    "Register this redirect address at the provider:": "请在身份提供方登记此回调地址：",
    "Roles from claims (the first match wins)": "按声明分配角色（按顺序，首条匹配生效）",
    "Claim": "声明",
    "Contains": "包含",
    "Role": "角色",
    "When no rule matches": "没有规则匹配时",
    "Refuse: no account": "拒绝：不创建账号",
    "Password sign-in": "密码登录",
    "Switch password sign-in off for everyone but the break-glass administrator": "关闭密码登录（应急管理员除外）",
    "Break-glass administrator (user name)": "应急管理员（用户名）",
    "Save single sign-on": "保存单点登录设置",
    "Linked accounts": "已关联的账号",
    "A provider identity never takes over an existing account with the same name: link them here first "
    "(the subject is the provider’s sub claim).":
        "身份提供方的身份不会自动接管同名的现有账号：请先在此关联（主体标识即身份提供方的 sub 声明）。",
    "Subject (sub)": "主体标识（sub）",
    "Link account": "关联账号",
    "Linked": "关联方式",
    "by an administrator": "由管理员关联",
    "at first sign-in": "首次登录时创建",
    "Unlink %(username)s": "取消关联 %(username)s",
    "Unlink": "取消关联",
    "Single sign-on settings saved.": "单点登录设置已保存。",
    "%(username)s may now sign in with the provider.": "%(username)s 现在可以通过身份提供方登录。",
    "%(username)s is no longer linked to the provider.": "%(username)s 已取消与身份提供方的关联。",
    # Reasons a setting is refused.
    "Choose a role.": "请选择角色。",
    "Name the claim, e.g. groups.": "请填写声明名称，例如 groups。",
    "Enter the value the claim must hold.": "请填写声明需包含的值。",
    "Enter the provider's issuer address (http:// or https://, without ? or #).":
        "请填写身份提供方的签发方地址（以 http:// 或 https:// 开头，不含 ? 或 #）。",
    "Switch single sign-on on before switching password sign-in off.": "请先开启单点登录，再关闭密码登录。",
    "Name an active administrator who keeps password sign-in.": "请填写一位保留密码登录的在职管理员。",
    "Set the provider's issuer first.": "请先设置身份提供方的签发方。",
    "This identity is already linked to another account.": "该身份已关联到另一个账号。",
}
