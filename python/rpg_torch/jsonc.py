"""JSONC as VS Code (and src/config/load.ts) reads it: comments and trailing commas allowed,
NaN/Infinity not; and JSON written the way JavaScript's JSON.stringify writes it.

The writer matters because run folders are shared: a number must read the same whichever
engine wrote it (JavaScript prints 1 for 1.0 and 1e-7 for 0.0000001; Python would print 1.0
and 1e-07).
"""
from __future__ import annotations

import math
from typing import Any, List, Optional, Tuple


class JsoncError(Exception):
    """A syntax error; ``errors`` holds (line, column, code) with jsonc-parser's code names."""

    def __init__(self, errors: List[Tuple[int, int, str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"JSON syntax error at {l}:{c}: {code}" for l, c, code in errors))


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    # -- errors --
    def fail(self, code: str, at: Optional[int] = None) -> None:
        offset = self.pos if at is None else at
        line = self.text.count("\n", 0, offset) + 1
        last = self.text.rfind("\n", 0, offset)
        raise JsoncError([(line, offset - last, code)])

    # -- lexing --
    def skip_trivia(self) -> None:
        t = self.text
        while self.pos < len(t):
            ch = t[self.pos]
            if ch in " \t\r\n\ufeff\u00a0\u2028\u2029" or ch == "\v" or ch == "\f":
                self.pos += 1
            elif t.startswith("//", self.pos):
                end = t.find("\n", self.pos)
                self.pos = len(t) if end < 0 else end
            elif t.startswith("/*", self.pos):
                end = t.find("*/", self.pos + 2)
                if end < 0:
                    self.fail("UnexpectedEndOfComment")
                self.pos = end + 2
            else:
                return

    def peek(self) -> str:
        self.skip_trivia()
        return self.text[self.pos] if self.pos < len(self.text) else ""

    # -- grammar --
    def value(self) -> Any:
        ch = self.peek()
        if ch == "{":
            return self.obj()
        if ch == "[":
            return self.arr()
        if ch == '"':
            return self.string()
        if ch == "-" or ch.isdigit():
            return self.number()
        for word, val in (("true", True), ("false", False), ("null", None)):
            if self.text.startswith(word, self.pos):
                end = self.pos + len(word)
                if end < len(self.text) and (self.text[end].isalnum() or self.text[end] == "_"):
                    break
                self.pos = end
                return val
        if ch == "":
            self.fail("ValueExpected")
        self.fail("InvalidSymbol" if ch not in "}],:" else "ValueExpected")

    def obj(self) -> dict:
        self.pos += 1
        out: dict = {}
        first = True
        while True:
            ch = self.peek()
            if ch == "}":
                self.pos += 1
                return out
            if not first:
                if ch != ",":
                    self.fail("CommaExpected" if ch else "CloseBraceExpected")
                self.pos += 1
                if self.peek() == "}":  # trailing comma
                    self.pos += 1
                    return out
            ch = self.peek()
            if ch != '"':
                self.fail("PropertyNameExpected" if ch else "CloseBraceExpected")
            key = self.string()
            if self.peek() != ":":
                self.fail("ColonExpected")
            self.pos += 1
            out[key] = self.value()
            first = False

    def arr(self) -> list:
        self.pos += 1
        out: list = []
        first = True
        while True:
            ch = self.peek()
            if ch == "]":
                self.pos += 1
                return out
            if not first:
                if ch != ",":
                    self.fail("CommaExpected" if ch else "CloseBracketExpected")
                self.pos += 1
                if self.peek() == "]":
                    self.pos += 1
                    return out
            if self.peek() == "":
                self.fail("CloseBracketExpected")
            out.append(self.value())
            first = False

    def string(self) -> str:
        t = self.text
        start = self.pos
        self.pos += 1
        parts: List[str] = []
        while True:
            if self.pos >= len(t):
                self.fail("UnexpectedEndOfString", start)
            ch = t[self.pos]
            if ch == '"':
                self.pos += 1
                return "".join(parts)
            if ch == "\\":
                esc = t[self.pos + 1:self.pos + 2]
                mapping = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
                if esc in mapping:
                    parts.append(mapping[esc])
                    self.pos += 2
                elif esc == "u":
                    hexd = t[self.pos + 2:self.pos + 6]
                    if len(hexd) != 4 or any(c not in "0123456789abcdefABCDEF" for c in hexd):
                        self.fail("InvalidUnicode")
                    parts.append(chr(int(hexd, 16)))
                    self.pos += 6
                else:
                    self.fail("InvalidEscapeCharacter")
                continue
            if ch in "\n\r":
                self.fail("UnexpectedEndOfString", start)
            if ord(ch) < 0x20:
                self.fail("InvalidCharacter")
            parts.append(ch)
            self.pos += 1

    def number(self) -> Any:
        t = self.text
        start = self.pos
        if t[self.pos] == "-":
            self.pos += 1
        digits = self.pos
        while self.pos < len(t) and t[self.pos].isdigit():
            self.pos += 1
        if self.pos == digits:
            self.fail("InvalidNumberFormat", start)
        is_float = False
        if self.pos < len(t) and t[self.pos] == ".":
            is_float = True
            self.pos += 1
            d = self.pos
            while self.pos < len(t) and t[self.pos].isdigit():
                self.pos += 1
            if self.pos == d:
                self.fail("UnexpectedEndOfNumber")
        if self.pos < len(t) and t[self.pos] in "eE":
            is_float = True
            self.pos += 1
            if self.pos < len(t) and t[self.pos] in "+-":
                self.pos += 1
            d = self.pos
            while self.pos < len(t) and t[self.pos].isdigit():
                self.pos += 1
            if self.pos == d:
                self.fail("UnexpectedEndOfNumber")
        lit = t[start:self.pos]
        # JavaScript has one number type: integers stay ints only where exactly representable.
        if not is_float:
            v = int(lit)
            return v if abs(v) <= 2 ** 53 else float(lit)
        return float(lit)


def parse_jsonc(text: str) -> Any:
    """Parses JSONC text; raises JsoncError with line:column and a code on bad syntax."""
    p = _Parser(text)
    if p.peek() == "":
        p.fail("ValueExpected")
    v = p.value()
    if p.peek() != "":
        p.fail("EndOfFileExpected")
    return v


# ---- JSON.stringify ------------------------------------------------------------------------

def js_number(x: Any) -> str:
    """A number as JavaScript's Number.prototype.toString (and JSON.stringify) prints it."""
    if isinstance(x, bool):
        raise TypeError("a boolean is not a number")
    if isinstance(x, int):
        if abs(x) < 10 ** 21:
            return str(x)
        x = float(x)
    if math.isnan(x) or math.isinf(x):
        return "null"  # what JSON.stringify writes for them
    if x == 0:
        return "0"
    r = repr(float(x))  # shortest round-trip digits, as JavaScript
    sign = "-" if r.startswith("-") else ""
    r = r.lstrip("-")
    if "e" in r:
        mant, exp_s = r.split("e")
        exp = int(exp_s)
    else:
        mant, exp = r, 0
    if "." in mant:
        ip, fp = mant.split(".")
    else:
        ip, fp = mant, ""
    digits = (ip + fp).lstrip("0")
    # the decimal exponent n such that value = 0.d1d2… × 10^n
    lead_zeros = len(ip + fp) - len((ip + fp).lstrip("0"))
    n = len(ip) + exp - lead_zeros
    digits = digits.rstrip("0") or "0"
    k = len(digits)
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * (-n) + digits
    e = n - 1
    es = f"e+{e}" if e >= 0 else f"e-{-e}"
    if k == 1:
        return sign + digits + es
    return sign + digits[0] + "." + digits[1:] + es


def _quote(s: str) -> str:
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\b":
            out.append("\\b")
        elif ch == "\f":
            out.append("\\f")
        elif o < 0x20 or 0xD800 <= o <= 0xDFFF:
            out.append(f"\\u{o:04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def js_stringify(value: Any, indent: int = 0) -> str:
    """JSON.stringify(value, null, indent). None is null; dict entries whose value is ``OMIT``
    are left out, as JavaScript leaves out undefined."""
    return _dump(value, indent, "")


class _Omit:
    pass


OMIT = _Omit()


def _dump(v: Any, indent: int, cur: str) -> str:
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, (int, float)):
        return js_number(v)
    if isinstance(v, str):
        return _quote(v)
    if hasattr(v, "tolist"):
        return _dump(v.tolist(), indent, cur)
    if isinstance(v, dict):
        items = [(k, x) for k, x in v.items() if x is not OMIT]
        if not items:
            return "{}"
        if not indent:
            return "{" + ",".join(_quote(str(k)) + ":" + _dump(x, 0, "") for k, x in items) + "}"
        inner = cur + " " * indent
        return "{\n" + ",\n".join(inner + _quote(str(k)) + ": " + _dump(x, indent, inner) for k, x in items) + "\n" + cur + "}"
    if isinstance(v, (list, tuple)):
        if not v:
            return "[]"
        if not indent:
            return "[" + ",".join(_dump(x, 0, "") for x in v) + "]"
        inner = cur + " " * indent
        return "[\n" + ",\n".join(inner + _dump(x, indent, inner) for x in v) + "\n" + cur + "]"
    raise TypeError(f"cannot write {type(v).__name__} as JSON")
