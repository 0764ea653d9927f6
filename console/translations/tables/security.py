"""Chinese for the security area: what a person is told when input cannot be stored."""

ZH = {
    "The field %(field)s contains a NUL character; remove it and try again.":
        "字段 %(field)s 含有空字符（NUL），请删除后重试。",
}
