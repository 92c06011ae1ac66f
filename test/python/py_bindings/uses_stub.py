"""Type-checked with mypy --strict against the generated pyb_demo.pyi (test_py_bindings.py)."""
import datetime

import pyb_demo

total: int = pyb_demo.add(1, 2)
text: str = pyb_demo.greet("x")
data: bytes = pyb_demo.reversed(b"ab")
counts: dict[str, int] = pyb_demo.count_words(["a"])
index: int | None = pyb_demo.find_index([1, 2], 2)
parsed: int | str = pyb_demo.parse("1")
slept: datetime.timedelta = pyb_demo.nap(datetime.timedelta(milliseconds=1))
when: datetime.datetime = pyb_demo.later(datetime.datetime.now(), datetime.timedelta(seconds=1))
p = pyb_demo.point(x=1.0, y=2.0, label="a")
q: pyb_demo.point = pyb_demo.scale(pyb_demo.point(), 2.0)
q.label = "b"
c: pyb_demo.color = pyb_demo.next_color(pyb_demo.color.red)
name: str = c.name
fiber: bool = pyb_demo.is_fiber()
doubled: int = pyb_demo.slow_double(1, 1)


async def twice() -> int:
    return await pyb_demo.slow_double_async(1, 1)


try:
    pyb_demo.lookup("x")
except pyb_demo.demo_error as e:
    message: str = str(e)
