"""Chinese for sign-in throttling, accounts and access."""

ZH = {
    'Too many failed sign-ins. Try again in %(seconds)s seconds.': '登录失败次数过多，请 %(seconds)s 秒后再试。',
}
