"""Chinese for sign-in throttling, accounts and access."""

ZH = {
    'Too many failed sign-ins. Try again in %(seconds)s seconds.': '登录失败次数过多，请 %(seconds)s 秒后再试。',
    'linked a person to their single sign-on identity': '关联了人员的单点登录身份',
    'unlinked a person from their single sign-on identity': '解除了人员的单点登录身份关联',
}
