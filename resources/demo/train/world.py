"""Problem generators of the demo world.

Everything here is written for this project: small arithmetic word problems in the format of
GSM8k (``question``, ``answer`` = worked solution ending in ``#### <number>``) and of MATH
(``problem``, ``solution`` with the final answer in ``\\boxed{}``, ``level``, ``type``).

Every solution is a list of steps ``a<op>b=c.`` with ``op`` one of ``+ - * /``. Addition is the
seed model's skill; subtraction, multiplication and division are the skills of the three merge
candidates. A problem's *skill set* is the set of non-addition operations its solution uses.
Numbers are kept small so that the facts a model must know stay few:
multiplication ``a*b`` with 2 <= a, b <= 9; division ``n/d`` exact with 2 <= d <= 9 and a
quotient 2..12; sums and differences below 200.
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

SKILLS = ("sub", "mul", "div")
OP_SKILL = {"+": "add", "-": "sub", "*": "mul", "/": "div"}

MAX_VALUE = 150
MUL_RANGE = (2, 9)
DIV_QUOTIENT = (2, 12)

NAMES = [("Ava", "She"), ("Ben", "He"), ("Cara", "She"), ("Dan", "He"), ("Eli", "He"),
         ("Fay", "She"), ("Gus", "He"), ("Hana", "She"), ("Ivy", "She"), ("Jon", "He"),
         ("Kim", "She"), ("Leo", "He"), ("Mia", "She"), ("Ned", "He"), ("Omar", "He"),
         ("Pia", "She"), ("Rosa", "She"), ("Sam", "He"), ("Tara", "She"), ("Yuri", "He")]
ITEMS = ["apples", "pencils", "stickers", "marbles", "cookies", "books", "coins", "shells",
         "cards", "eggs", "buttons", "stamps"]
CONTAINERS = ["bag", "box", "jar", "pack", "basket", "tray"]
COLOURS = [("red", "blue"), ("green", "yellow"), ("big", "small"), ("old", "new")]
FRIENDS = ["a friend", "a neighbour", "a cousin", "a classmate", "the teacher"]

MATH_TYPES = ["Prealgebra", "Algebra", "Number Theory", "Counting & Probability", "Geometry",
              "Intermediate Algebra"]


@dataclass
class Problem:
    text: str
    steps: list = field(default_factory=list)  # (a, op, b, c)
    answer: int = 0
    kind: str = "gsm"  # gsm | math
    type: str = ""
    boxed: str = ""

    @property
    def skills(self) -> frozenset:
        return frozenset(OP_SKILL[s[1]] for s in self.steps if s[1] != "+")

    def steps_text(self) -> str:
        return " ".join(f"{a}{op}{b}={c}." for a, op, b, c in self.steps)

    def solution(self) -> str:
        if self.kind == "gsm":
            return f"{self.steps_text()}\n#### {self.answer}"
        body = self.steps_text()
        return f"{body} \\boxed{{{self.boxed}}}" if body else f"\\boxed{{{self.boxed}}}"

    @property
    def level(self) -> int:
        big = any(max(a, b, c) > 50 for a, _, b, c in self.steps)
        return max(1, min(5, len(self.steps) + len(self.skills) + (1 if big else 0) - 1))

    def record(self) -> dict:
        if self.kind == "gsm":
            return {"question": self.text, "answer": self.solution()}
        return {"problem": self.text, "solution": self.solution(), "level": f"Level {self.level}",
                "type": self.type}


def _apply(a: int, op: str, b: int) -> int:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        assert a % b == 0
        return a // b
    raise ValueError(op)


def step(a: int, op: str, b: int) -> tuple:
    return (a, op, b, _apply(a, op, b))


def valid_steps(steps) -> bool:
    for a, op, b, c in steps:
        if c < 0 or c > MAX_VALUE or a > MAX_VALUE or b > MAX_VALUE:
            return False
        if op == "-" and c < 1:
            return False
        if op == "*" and not (MUL_RANGE[0] <= a <= MUL_RANGE[1] and MUL_RANGE[0] <= b <= MUL_RANGE[1]):
            return False
        if op == "/" and not (2 <= b <= 9 and a % b == 0 and DIV_QUOTIENT[0] <= c <= DIV_QUOTIENT[1]):
            return False
    return True


# ---------------------------------------------------------------------------------------------
# GSM-style stories: a start sentence, one or two events, a question.

def gsm_random(rng: random.Random) -> Problem | None:
    name, pron = rng.choice(NAMES)
    item = rng.choice(ITEMS)
    cont = rng.choice(CONTAINERS)
    steps: list = []
    start = rng.choice(["plain", "add", "mul"])
    if start == "plain":
        v = rng.randint(5, 60)
        sents = [f"{name} has {v} {item}."]
    elif start == "add":
        a, b = rng.randint(3, 40), rng.randint(3, 40)
        c1, c2 = rng.choice(COLOURS)
        sents = [f"{name} has {a} {c1} {item} and {b} {c2} {item}."]
        steps.append(step(a, "+", b))
        v = steps[-1][3]
    else:
        a, b = rng.randint(*MUL_RANGE), rng.randint(*MUL_RANGE)
        sents = [f"{name} has {a} {cont}s with {b} {item} in each {cont}."]
        steps.append(step(a, "*", b))
        v = steps[-1][3]
    divided = False
    for _ in range(rng.choice([1, 2])):
        op = rng.choice(["add", "sub"] if divided else ["add", "sub", "mul", "div"])
        if op == "add":
            c = rng.randint(2, 40)
            sents.append(f"Each friend then gets {c} more." if divided
                         else f"{pron} gets {c} more {item} from {rng.choice(FRIENDS)}.")
            steps.append(step(v, "+", c))
        elif op == "sub":
            if v < 3:
                return None
            c = rng.randint(1, min(v - 1, 60))
            sents.append(f"Each friend eats {c} of them." if divided
                         else f"{pron} gives {c} {item} to {rng.choice(FRIENDS)}.")
            steps.append(step(v, "-", c))
        elif op == "mul":
            k, m = rng.randint(*MUL_RANGE), rng.randint(*MUL_RANGE)
            cont2 = rng.choice(CONTAINERS)
            sents.append(f"{pron} buys {k} {cont2}s with {m} {item} in each {cont2}.")
            steps.append(step(k, "*", m))
            steps.append(step(v, "+", steps[-1][3]))
        else:
            ds = [d for d in range(2, 10) if v % d == 0 and DIV_QUOTIENT[0] <= v // d <= DIV_QUOTIENT[1]]
            if not ds:
                return None
            d = rng.choice(ds)
            sents.append(f"{pron} shares the {item} equally among {d} friends.")
            steps.append(step(v, "/", d))
            divided = True
        v = steps[-1][3]
    if len(steps) < 2 or not valid_steps(steps):
        return None
    q = (f"How many {item} does each friend have?" if divided
         else f"How many {item} does {name} have now?")
    sents.append(q)
    return Problem(" ".join(sents), steps, v, "gsm")


def gsm_problem(rng: random.Random, accept, check=None) -> Problem:
    """A GSM-style problem whose skill set satisfies ``accept(skills)`` (and ``check(problem)``)."""
    for _ in range(100000):
        p = gsm_random(rng)
        if p is not None and accept(p.skills) and (check is None or check(p)):
            return p
    raise RuntimeError("no GSM-style problem found for the constraint")


# ---------------------------------------------------------------------------------------------
# MATH-style problems, six types.

def _expr(rng: random.Random) -> Problem | None:
    """Prealgebra: evaluate an expression with two operations."""
    o1, o2 = rng.choice("+-*/"), rng.choice("+-*/")
    nums = [rng.randint(2, 60) for _ in range(3)]
    tex = {"+": "+", "-": "-", "*": "\\times", "/": "\\div"}
    prec = {"+": 0, "-": 0, "*": 1, "/": 1}
    a, b, c = nums
    if o1 in "*/":
        a = rng.randint(2, 9) if o1 == "*" else a
        b = rng.randint(2, 9)
    if o2 in "*/":
        c = rng.randint(2, 9)
        if prec[o2] > prec[o1]:
            b = rng.randint(2, 9) if o2 == "*" else b
    try:
        if prec[o2] > prec[o1]:
            s1 = step(b, o2, c)
            s2 = step(a, o1, s1[3])
        else:
            s1 = step(a, o1, b)
            s2 = step(s1[3], o2, c)
    except AssertionError:
        return None
    steps = [s1, s2]
    if not valid_steps(steps):
        return None
    text = f"Compute ${a} {tex[o1]} {b} {tex[o2]} {c}$."
    return Problem(text, steps, s2[3], "math", "Prealgebra", str(s2[3]))


def _algebra(rng: random.Random) -> Problem | None:
    form = rng.randrange(7)
    x = rng.randint(2, 40)
    a = rng.randint(2, 9)
    b = rng.randint(1, 40)
    if form == 0:  # x + b = c
        c = x + b
        text, steps = f"$x + {b} = {c}$", [step(c, "-", b)]
    elif form == 1:  # x - b = c
        if x <= b:
            return None
        c = x - b
        text, steps = f"$x - {b} = {c}$", [step(c, "+", b)]
    elif form == 2:  # a x = c
        x = rng.randint(*DIV_QUOTIENT)
        c = a * x
        text, steps = f"${a}x = {c}$", [step(c, "/", a)]
    elif form == 3:  # a x + b = c
        x = rng.randint(*DIV_QUOTIENT)
        c = a * x + b
        text, steps = f"${a}x + {b} = {c}$", [step(c, "-", b), step(a * x, "/", a)]
    elif form == 4:  # a x - b = c
        x = rng.randint(*DIV_QUOTIENT)
        if a * x <= b:
            return None
        c = a * x - b
        text, steps = f"${a}x - {b} = {c}$", [step(c, "+", b), step(a * x, "/", a)]
    elif form == 5:  # x / a = c
        c = rng.randint(2, 9)
        x = a * c
        text, steps = f"$\\frac{{x}}{{{a}}} = {c}$", [step(c, "*", a)]
    else:  # x / a + b = c
        q = rng.randint(2, 9)
        x, c = a * q, q + b
        text, steps = f"$\\frac{{x}}{{{a}}} + {b} = {c}$", [step(c, "-", b), step(q, "*", a)]
    if not valid_steps(steps):
        return None
    ans = steps[-1][3]
    return Problem(f"Solve for $x$: {text}.", steps, ans, "math", "Algebra", str(ans))


def _number_theory(rng: random.Random) -> Problem | None:
    form = rng.randrange(3)
    if form == 0:
        a, b = rng.randint(*MUL_RANGE), rng.randint(*MUL_RANGE)
        s = step(a, "*", b)
        return Problem(f"What is the units digit of ${a} \\times {b}$?", [s], s[3] % 10, "math",
                       "Number Theory", str(s[3] % 10))
    if form == 1:
        n = rng.randint(100, 999)
        d = [int(ch) for ch in str(n)]
        steps = [step(d[0], "+", d[1])]
        steps.append(step(steps[-1][3], "+", d[2]))
        return Problem(f"What is the sum of the digits of {n}?", steps, steps[-1][3], "math",
                       "Number Theory", str(steps[-1][3]))
    d = rng.randint(2, 9)
    q = rng.randint(*DIV_QUOTIENT)
    n = d * q
    s = step(n, "/", d)
    return Problem(f"How many multiples of {d} are there from 1 to {n}?", [s], q, "math",
                   "Number Theory", str(q))


def _counting(rng: random.Random) -> Problem | None:
    form = rng.randrange(4)
    things = rng.choice([("soups", "salads"), ("shirts", "hats"), ("pens", "notebooks"),
                         ("cakes", "drinks")])
    if form == 0:
        a, b = rng.randint(2, 9), rng.randint(2, 9)
        text = (f"A shop offers {a} {things[0]} and {b} {things[1]}. In how many ways can you "
                f"choose one of the {things[0]} and one of the {things[1]}?")
        steps = [step(a, "*", b)]
    elif form == 1:
        a, b = rng.randint(2, 60), rng.randint(2, 60)
        text = (f"A shop offers {a} {things[0]} and {b} {things[1]}. In how many ways can you "
                f"choose one item?")
        steps = [step(a, "+", b), ]
    elif form == 2:
        a = rng.randint(4, 60)
        c = rng.randint(1, a - 2)
        b = rng.randint(2, 40)
        text = (f"A shop offers {a} {things[0]}, but {c} of them are sold out, and {b} "
                f"{things[1]}. In how many ways can you choose one item?")
        steps = [step(a, "-", c), step(a - c, "+", b)]
    else:
        d = rng.randint(2, 9)
        q = rng.randint(*DIV_QUOTIENT)
        n = d * q
        text = f"In how many ways can {n} students be split into teams of exactly {d}? Count the teams."
        steps = [step(n, "/", d)]
    if not valid_steps(steps):
        return None
    ans = steps[-1][3]
    return Problem(text, steps, ans, "math", "Counting & Probability", str(ans))


def _geometry(rng: random.Random) -> Problem | None:
    form = rng.randrange(5)
    if form == 0:
        a, b = rng.randint(2, 40), rng.randint(2, 40)
        text = f"A rectangle has length {a} and width {b}. What is its perimeter?"
        s1 = step(a, "+", b)
        steps = [s1, step(s1[3], "+", s1[3])]
    elif form == 1:
        a, b = rng.randint(*MUL_RANGE), rng.randint(*MUL_RANGE)
        text = f"A rectangle has length {a} and width {b}. What is its area?"
        steps = [step(a, "*", b)]
    elif form == 2:
        a, b = rng.randint(*MUL_RANGE), rng.randint(*MUL_RANGE)
        if (a * b) % 2:
            return None
        text = f"A triangle has base {a} and height {b}. What is its area?"
        steps = [step(a, "*", b), step(a * b, "/", 2)]
    elif form == 3:
        s = rng.randint(2, 12)
        text = f"A square has perimeter {4 * s}. What is its side length?"
        steps = [step(4 * s, "/", 4)]
    else:
        a, b = rng.randint(3, 60), rng.randint(2, 40)
        if a <= b:
            return None
        text = f"A rope is {a} cm long. A piece of {b} cm is cut off. How long is the rest?"
        steps = [step(a, "-", b)]
    if not valid_steps(steps):
        return None
    ans = steps[-1][3]
    return Problem(text, steps, ans, "math", "Geometry", str(ans))


def _int_algebra(rng: random.Random) -> Problem | None:
    form = rng.randrange(4)
    if form == 0:  # f(x) = a x + b
        a, c, b = rng.randint(*MUL_RANGE), rng.randint(*MUL_RANGE), rng.randint(1, 40)
        sign = rng.choice("+-")
        text = f"Let $f(x) = {a}x {sign} {b}$. What is $f({c})$?"
        steps = [step(a, "*", c), step(a * c, sign, b)]
    elif form == 1:  # f(g(c)) with f(x)=x+a, g(x)=x+/-b
        a, b, c = rng.randint(1, 40), rng.randint(1, 40), rng.randint(2, 60)
        sg = rng.choice("+-")
        text = f"Let $f(x) = x + {a}$ and $g(x) = x {sg} {b}$. What is $f(g({c}))$?"
        s1 = step(c, sg, b)
        steps = [s1, step(s1[3], "+", a)]
    elif form == 2:  # f(x) = x / a + b
        a, q, b = rng.randint(2, 9), rng.randint(*DIV_QUOTIENT), rng.randint(1, 40)
        text = f"Let $f(x) = \\frac{{x}}{{{a}}} + {b}$. What is $f({a * q})$?"
        steps = [step(a * q, "/", a), step(q, "+", b)]
    else:  # f(x) = x - a, value at c, then doubled by adding
        a, c = rng.randint(1, 40), rng.randint(2, 80)
        text = f"Let $f(x) = x - {a}$. What is $f({c}) + f({c})$?"
        s1 = step(c, "-", a)
        steps = [s1, step(s1[3], "+", s1[3])]
    if not valid_steps(steps):
        return None
    ans = steps[-1][3]
    return Problem(text, steps, ans, "math", "Intermediate Algebra", str(ans))


MATH_GENERATORS = {
    "Prealgebra": _expr,
    "Algebra": _algebra,
    "Number Theory": _number_theory,
    "Counting & Probability": _counting,
    "Geometry": _geometry,
    "Intermediate Algebra": _int_algebra,
}


def math_problem(rng: random.Random, mtype: str, accept, tries: int = 100000,
                 check=None) -> Problem | None:
    """A MATH-style problem of type `mtype` whose skill set satisfies ``accept(skills)`` (and
    ``check(problem)``); None when `tries` attempts found none."""
    gen = MATH_GENERATORS[mtype]
    for _ in range(tries):
        p = gen(rng)
        if p is not None and accept(p.skills) and (check is None or check(p)):
            return p
    return None


def easy_facts_only(p: Problem, except_skills=frozenset()) -> bool:
    """True when every non-addition step is an *easy fact*: subtraction of a one-digit number
    without borrowing, multiplication by 2, division by 2. The seed learns the problem forms and
    the answer format with these; the candidates learn the full facts of their operation
    (`except_skills`: the operations whose steps may be any fact)."""
    for a, op, b, c in p.steps:
        if OP_SKILL.get(op) in except_skills:
            continue
        if op == "-" and not (b <= 9 and a % 10 >= b):
            return False
        if op == "*" and 2 not in (a, b):
            return False
        if op == "/" and b != 2:
            return False
    return True


# ---------------------------------------------------------------------------------------------
# Checks used by the generator (and mirrored by the tests).

STEP_RE = re.compile(r"(\d+)([-+*/])(\d+)=(\d+)\.")


def check_solution_steps(solution: str) -> list:
    """Parse ``a<op>b=c.`` steps and verify each; returns the list of results."""
    results = []
    for a, op, b, c in STEP_RE.findall(solution):
        a, b, c = int(a), int(b), int(c)
        if op == "/" and (b == 0 or a % b):
            raise ValueError(f"inexact division in {solution!r}")
        if _apply(a, op, b) != c:
            raise ValueError(f"wrong step {a}{op}{b}={c} in {solution!r}")
        results.append(c)
    return results


def verify(p: Problem) -> None:
    results = check_solution_steps(p.solution())
    assert results == [s[3] for s in p.steps]
    if p.kind == "gsm":
        assert results[-1] == p.answer
        assert p.solution().endswith(f"#### {p.answer}")
    else:
        assert p.boxed == str(p.answer)
        if p.type == "Number Theory" and "units digit" in p.text:
            assert p.answer == results[-1] % 10
        else:
            assert p.answer == results[-1]
