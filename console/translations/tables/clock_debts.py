"""The clock never hides a debt: what an automatic holding statement leaves owed, on every screen."""

ZH = {
    "held by an automatic statement": "已发自动缓冲声明",
    "Held by an automatic statement": "已发自动缓冲声明",
    "held by an automatic statement: still owed by a person": "已发自动缓冲声明：仍待有人发布更新",
    "Held by an automatic statement: “%(rule)s” stays open and escalating until a person publishes.":
        "已发自动缓冲声明：「%(rule)s」仍未完成，继续升级，直到有人发布更新。",
    "Held by an automatic statement: %(n)s (the update a person owed stayed open until someone published).":
        "已发自动缓冲声明：%(n)s 项（应由人发布的更新一直未完成，直到有人发布）。",
}
