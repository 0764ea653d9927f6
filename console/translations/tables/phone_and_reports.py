"""Chinese for the phone menu, the notices that say an action did not happen, and the reports' axis."""

ZH = {
    "Menu": "菜单",
}
