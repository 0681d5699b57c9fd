"""DSL syntax errors in words: what was expected, the line with a caret, and a hint."""

from __future__ import annotations

import re

from lark import Token
from lark.exceptions import (
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    UnexpectedToken,
)

from netspec.core.errors import Location, Problem
from netspec.core.fmt import show
from netspec.frontends.dsl.grammar import KEYWORDS, MAX_NESTING, parser
from netspec.frontends.keys import IF, REPEAT

_TERMINAL_WORDS = {
    "NAME": "a name", "INT": "a number", "FLOAT": "a number", "SIZE": "a size such as 5x5",
    "STRING": 'a "string"', "EXPR": "a $parameter", "_NL": "a new line", "SEMICOLON": "';'",
    "$END": "the end of the file", "VALUE": "a value",
}
_STATEMENT_START = {"NETSPEC", "INPUT", "BLOCK", "NETWORK", "TRAIN"}
_KEYWORD_TYPES = {word.upper() for word in KEYWORDS} - {"FROM"}  # the keywords' terminals (lark names them so)
_TOP_LEVEL_ONLY = {"NETSPEC", "BLOCK", "NETWORK", "TRAIN", "IMPORT"}  # statements that cannot stand inside a body


_VALUES = {"INT", "FLOAT", "SIZE", "STRING", "EXPR", "NAME"}


def _expected_words(expected: set[str]) -> str:
    if not expected:
        return ""
    if _STATEMENT_START & expected or ("REPEAT" in expected and "NAME" in expected):
        return "a layer line (such as 'conv 6 5x5 relu') or a statement (input, output, block, expect...)"
    if "SLASH" in expected and "FROM" in expected:
        return "a layer option (6, 5x5, /2, relu, key=value, from a), '{' or the end of the line"
    if len(_VALUES & expected) >= 4:
        expected = (expected - _VALUES) | {"VALUE"}
    words = []
    p = parser()
    for name in sorted(expected):
        if name in _TERMINAL_WORDS:
            word = _TERMINAL_WORDS[name]
        else:
            try:
                pattern = p.get_terminal(name).pattern
                word = f"'{pattern.value}'" if pattern.type == "str" else name.lower()
            except KeyError:
                word = name.lower()
        if word not in words:
            words.append(word)
    # order: values first, punctuation after
    words.sort(key=lambda w: (w.startswith("'"), w))
    if len(words) > 7:
        words = words[:6] + ["..."]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _show_token(tok: Token) -> str:
    if tok.type == "$END":
        return "end of file"
    if tok.type in ("_NL",):
        return "end of line"
    text = str(tok)
    return f"'{text[:30]}'" + ("..." if len(text) > 30 else "")


def snippet(text: str, line: int, column: int) -> str:
    """The source line and a caret under ``column`` (1-based)."""
    lines = text.split("\n")
    if not 1 <= line <= len(lines):
        return ""
    src = lines[line - 1].replace("\t", " ").rstrip("\r")
    src = "".join(c if c.isprintable() else " " for c in src)
    col = max(1, min(column, len(src) + 1))
    if len(src) > 100:  # keep long lines readable around the caret
        start = max(0, col - 60)
        src = ("…" if start else "") + src[start:start + 100]
        col = col - start + (1 if start else 0)
    return f"\n    {src}\n    {' ' * (col - 1)}^"


def open_brackets(text: str, file: str) -> tuple[list[tuple[str, int, int]], Problem | None]:
    """Scan brackets outside strings and comments: the still-open ones, and a nesting problem."""
    stack: list[tuple[str, int, int]] = []
    pairs = {")": "(", "]": "[", "}": "{"}
    problem = None
    for line_no, line in enumerate(text.split("\n"), start=1):
        j, n = 0, len(line)
        while j < n:
            c = line[j]
            if c == "#":
                break
            if c == '"':
                j += 1
                while j < n and line[j] != '"':
                    j += 2 if line[j] == "\\" else 1
            elif c in "([{":
                stack.append((c, line_no, j + 1))
                if len(stack) > MAX_NESTING and problem is None:
                    problem = Problem(f"brackets nested more than {MAX_NESTING} deep", Location(file, line_no, j + 1),
                                      hint="a spec this deep is almost certainly a mistake")
            elif c in ")]}" and stack and stack[-1][0] == pairs[c]:
                stack.pop()
            j += 1
    return stack, problem


def syntax_problem(exc: UnexpectedInput, text: str, file: str) -> Problem:
    lines = text.split("\n")
    if isinstance(exc, UnexpectedCharacters):
        line, col = exc.line, exc.column
        char = exc.char
        allowed = set(exc.allowed or ())
        try:  # what the parser accepts here (the lexer's set is wider: it merges parser states)
            ip = getattr(exc, "interactive_parser", None)
            if ip is not None:
                allowed = set(ip.accepts()) or allowed
        except Exception:  # pragma: no cover - accepts() replays the parser; never let it mask the error
            pass
        expected = _expected_words(allowed)
        message = f"unexpected character {show(char)}" + (f"; expected {expected}" if expected else "")
        hint = _char_hint(text, lines, line, col, char)
    else:
        tok = getattr(exc, "token", None)
        expected_set = set(getattr(exc, "expected", None) or getattr(exc, "accepts", None) or ())
        if isinstance(exc, UnexpectedToken) and getattr(exc, "accepts", None):
            expected_set = set(exc.accepts)
        if tok is None or tok.type == "$END" or isinstance(exc, UnexpectedEOF):
            line, col = _end(lines)
            shown = "end of file"
        else:
            line, col = tok.line or 1, tok.column or 1
            shown = _show_token(tok)
        expected = _expected_words(expected_set)
        message = f"unexpected {shown}" + (f"; expected {expected}" if expected else "")
        hint = _token_hint(text, lines, exc, tok, expected_set, file)
    return Problem(message, Location(file, line, col), hint=hint, excerpt=snippet(text, line, col))


def _end(lines: list[str]) -> tuple[int, int]:
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].strip():
            return i + 1, len(lines[i].rstrip()) + 1
    return 1, 1


def _char_hint(text: str, lines: list[str], line: int, col: int, char: str) -> str:
    src = lines[line - 1] if 1 <= line <= len(lines) else ""
    before = src[:col - 1]
    if char in "*×" and re.search(r"\d\s*$", before):
        m = re.search(r"(\d+)\s*$", before)
        after = re.match(r"\s*(\d+)", src[col:])
        a, b = m.group(1) if m else "5", after.group(1) if after else "5"
        return f"write sizes with the letter x: {a}x{b}"
    if char == "'":
        return 'strings use double quotes: "text"'
    if char == '"':
        return "this string is not closed on its line"
    if char == "$":
        return "a parameter is $name or ${expression}"
    if char == "-" and re.search(r"[A-Za-z_]$", before):
        return "names use '_' rather than '-'"
    if char == ":" and before.strip() == "":
        return "a label goes before a layer: 'c1: conv 6 5x5'"
    if char == "(":
        return ("write layer options as 'conv 64 3x3' or 'conv filters=64 kernel=3'; "
                "parentheses are for block definitions: 'block name(width, stride=1) { ... }'")
    if char == "\t":
        return ""
    if not char.isascii():
        return "names and keywords are ASCII; non-ASCII text must be in a \"string\""
    return ""


def _token_hint(text: str, lines: list[str], exc: UnexpectedInput, tok: Token | None, expected: set[str],
                file: str) -> str:
    stack, _ = open_brackets(text, file)
    prev = None
    history = getattr(exc, "token_history", None)
    if history:
        prev = history[-1]
    if tok is None or tok.type == "$END":
        if stack:
            opener, line, col = stack[-1]
            closer = {"(": ")", "[": "]", "{": "}"}[opener]
            return f"the '{opener}' on line {line} is never closed; add '{closer}'"
        return "the last statement is incomplete"
    if tok.type == "RBRACE" and not any(o == "{" for o, _, _ in stack) and "RBRACE" not in expected:
        return "this '}' has no matching '{'"
    src = lines[tok.line - 1] if tok.line and 1 <= tok.line <= len(lines) else ""
    if prev is not None and prev.type == "FROM" and tok.value == "=":  # `dense 4 from=a`
        return "'from' takes its names without '=': write 'from a' (several: 'from a, b')"
    if prev is not None and prev.type == "EQUAL":
        return "a value is missing after '='"
    if prev is not None and prev.type == "IMPORT" and "STRING" in expected:  # `import lib.ns`
        return 'the path of a library is a string: import "blocks/transformer.ns" (relative to this file)'
    if tok.value == "." and tok.line and tok.column:
        dotted = re.search(r"\$([A-Za-z_]\w*)$", src[:tok.column - 1])
        if dotted:
            rest = re.match(r"\.[A-Za-z_]\w*(?:\.[A-Za-z_]\w*|\[-?\d+\])*", src[tok.column - 1:])
            whole = dotted.group(1) + (rest.group(0) if rest else ".")
            return f"write ${{{whole}}} (the short $name form takes a plain name)"
    after_input = bool(tok.column) and re.fullmatch(r"\s*inputs?(\s+[A-Za-z_]\w*)?\s*", src[:tok.column - 1]) is not None
    if after_input and tok.type in ("LPAR", "INT", "SIZE", "FLOAT", "LBRACE"):  # `input (1, 28, 28)`, `input 1, 28`
        return ("the DSL writes an input's shape in brackets: 'input [1, 28, 28]' "
                "(named, with a dtype: 'input ids [T] long'; from another network: 'input z from encoder.mu')")
    if tok.type == "LPAR":
        return ("write layer options as 'conv 64 3x3' or 'conv filters=64 kernel=3'; "
                "parentheses are for block definitions: 'block name(width, stride=1) { ... }'")
    open_lists = [o for o in stack if o[0] in "[(" and o[1] < (tok.line or 0)]
    if open_lists:
        opener, line, _ = open_lists[-1]
        return f"the '{opener}' on line {line} is never closed; add '{']' if opener == '[' else ')'}'"
    if prev is not None and prev.type == "COLON":
        keyword = src[:prev.column - 1].strip()
        if keyword in KEYWORDS:
            return f"no ':' after '{keyword}' in the DSL: write '{keyword} {src[prev.column:].strip()}'"
        if tok.type in ("LBRACE",):
            return ("this looks like YAML; in the DSL a layer is 'conv2d filters=6 kernel=5' "
                    "(and 'c1: conv2d ...' names it)")
    if prev is not None and expected == {"COLON"} and prev.type in _KEYWORD_TYPES:
        word = str(prev)
        where = ("goes at the top level, outside blocks, groups and networks"
                 if prev.type in _TOP_LEVEL_ONLY else
                 "cannot start a statement inside a group or block body")
        unclosed = [o for o in stack if o[0] == "{" and o[1] < (prev.line or 0)]
        if unclosed:
            return f"the '{{' on line {unclosed[-1][1]} is still open here; is a '}}' missing? ('{word}' {where})"
        return f"'{word}' {where}"
    if "EQUAL" in expected and prev is not None and prev.type == "NAME":
        return f"missing '='? write {prev}=value"
    if tok.type == "COLON" and "EQUAL" in expected:
        return "options are written key=value"
    if tok.type == "_NL" and stack and stack[-1][0] in "[(":
        return f"the '{stack[-1][0]}' on line {stack[-1][1]} is not closed on its line"
    if tok.type == "LBRACE" and "_NL" in expected:
        return "only groups (sequential, residual, parallel), blocks and networks have a { body }"
    if tok.type == "RBRACE" and "RBRACE" not in expected:
        return "a statement before this '}' is incomplete"
    if tok.type == "NAME" and str(tok) in ("x", "X") and prev is not None and prev.type == "INT":
        return f"write sizes without spaces: {prev}x..."
    if tok.type in ("INT", "FLOAT", "SIZE") and prev is not None and prev.type in ("INT", "FLOAT", "SIZE") \
            and "EQUAL" not in expected:
        return "separate values with ','"
    open_braces = [o for o in stack if o[0] == "{" and o[1] < (tok.line or 0)]
    if open_braces:
        return f"the '{{' on line {open_braces[-1][1]} is still open here; is a '}}' missing?"
    return ""



# --- hints of the later stages, in DSL words ------------------------------------------------------------
# The spec stage and the graph builder write their hints the YAML way ('- b: {w: ...}', 'input: [...]'),
# whichever frontend read the spec; a problem located in a DSL file gets them rewritten here, each
# pattern to its DSL spelling.
_DSL_HINTS: list[tuple[re.Pattern[str], str]] = [(re.compile(p), r) for p, r in (
    (r"write '- (\w+): \{(\w+): \.\.\.\}'", r"write '\1 \2=...'"),
    (r"write '- (\w+): \{option: value\}'", r"write '\1 option=value'"),
    (r"write '- conv2d: \{filters: 6, kernel: 5\}'; options go inside the braces",
     "write one kind per line, its options after it: 'conv2d 6 5x5' or 'conv2d filters=6 kernel=5'"),
    (r"write '- flatten' or '- dense: \{units: 10\}'", "write 'flatten' or 'dense 10'"),
    (r"add e\.g\. 'input: \[1, 28, 28\]'", "add e.g. 'input [1, 28, 28]'"),
    (r"add e\.g\. 'layers: \[flatten, dense: 10\]'", "add a layer per line, e.g. 'dense 10'"),
    (r"define it under 'blocks:'", "define it with 'block name(params) { ... }'"),
    (r"each layer is a '- kind: \{\.\.\.\}' item", "each layer is a line: 'kind options'"),
    (r"from: \[a, b\] names the nodes to merge", "'from a, b' names the nodes to merge"),
    (r"write 'inputs: \{x: \[3, 32, 32\]\}', or 'input: \[3, 32, 32\]' for a single input",
     "write 'input x [3, 32, 32]' per input, or 'input [3, 32, 32]' for a single one"),
    (r"write '(\w+): (\[[^\]]*\])' or '\w+: \{shape: \[[^\]]*\], dtype: float\}'", r"write 'input \2'"),
    (r"blocks: \{name: \{params: \{width: 64\}, layers: \[\.\.\.\]\}\}", "block name(width=64) { layers }"),
    (r"'imports: \[file\]' in YAML, 'import \"file\"' in the DSL", "'import \"file\"'"),
    (r"e\.g\. (if|residual): \$\{", r"e.g. \1=${"),
    (r"write 'netspec: (\d+)' \(or leave the key out\)", r"write 'netspec \1' (or leave the version out)"),
    (r"write '- (\w+)'", r"write '\1'"),  # a kind without options
    (r"\bgive the network an 'input:'", "give the network an 'input [...]' line"),
)]

# Options named bare in prose ("write init: on that layer"), in messages and hints alike: the DSL writes an
# option key=value, and `from`, `if` and `repeat` its own way.
_DSL_PROSE: list[tuple[re.Pattern[str], str]] = [(re.compile(p), r) for p, r in (
    (r"\b(write|set) ([a-z_]+): on\b", r"\1 \2=... on"),
    (r"\b([a-z_]+): needs a layer\b", r"\1=... needs a layer"),
    (r"\bname one node in from:", "name one node after 'from'"),
    (r"\ba layer with from: naming them\b", "a layer with 'from' naming them"),
    (r"\bthe same if: ", "the same if=... "),
    (r"\bput the if: on\b", "put the if=... on"),
    (r"'from: <network>'", "'from <network>'"),
    (r"\b([a-z_]+): names\b", r"\1=... names"),
    (r"\ba 'from:'", "a 'from'"),
    (r"'repeat:'", "'repeat N'"),
    (r"under the block's 'params:'", "in the block's parameters: 'block name(param) { ... }'"),
    (r"when 'networks:' is used", "when 'network name { ... }' is used"),
    (r"\bhas no 'layers' list\b", "has no layers"),
)]


def dsl_hint(hint: str) -> str:
    """A hint written for YAML, in DSL words (unchanged where it has no YAML in it)."""
    for pattern, dsl in _DSL_HINTS:
        hint = pattern.sub(dsl, hint)
    return hint


def dsl_prose(text: str) -> str:
    """Options named bare in ``text`` (``write init: on that layer``) in DSL words (``write init=... on``)."""
    for pattern, dsl in _DSL_PROSE:
        text = pattern.sub(dsl, text)
    return text


# A message that opens with the option it is about, the YAML way (`share: 'a' is a dense ...`, `init: nothing to
# initialise ...`): the DSL writes the option key=value.
_OPENING = re.compile(r"^([A-Za-z_]\w*): (?:'([A-Za-z_][\w.]*)'(?= ))?")
_MAPPED = ("init", "tie")  # options the DSL writes as a mapping, never as key=name


def dsl_opening(message: str) -> str:
    """A message opening with its option the YAML way in DSL words: ``share: 'a' is a dense`` -> ``share=a is a
    dense`` (an option whose value is the name quoted), ``init: nothing to initialise`` -> ``init=...: nothing to
    initialise``; any other message as it is."""
    m = _OPENING.match(message)
    if m is None or (m.group(1) not in _names()["options"] and m.group(1) not in (IF, REPEAT)):
        return message
    key, name, rest = m.group(1), m.group(2), message[len(m.group(1)) + 2:]
    if not name and rest[:1] in "{[$-0123456789\"":  # `init: {param: ...} names ...`: a value, dsl_values writes it
        return message
    if key == REPEAT:
        return f"'{REPEAT} N': {rest}"
    if key == "from":  # the DSL's clause: `from a`
        return f"from {name}{message[m.end(0):]}" if name else f"'from ...': {rest}"
    if name and key not in _MAPPED:
        return f"{key}={name}{message[m.end(0):]}"
    return f"{key}=...: {rest}"


def in_dsl_terms(problems: list[Problem], suffixes: tuple[str, ...], dsl: bool = False) -> list[Problem]:
    """The problems located in a DSL file (a name ending in one of ``suffixes``; all of them with ``dsl``)
    in DSL words: their hints (:func:`dsl_hint`), and in messages and hints alike the values and options
    written the YAML way (:func:`dsl_values`: ``{a: 1}`` -> ``{a=1}``, ``axis: -1`` -> ``axis=-1``,
    ``permute: [1, 0]`` -> ``permute [1, 0]``, ``kernel [3, 3, 3]`` -> ``kernel 3x3x3``); the value a
    problem about a size option got is a size too (``layers[0].kernel: ...; got 3x3x3``)."""
    out = []
    for p in problems:
        here = dsl or (p.location is not None and p.location.file.lower().endswith(suffixes))
        if not here:
            out.append(p)
            continue
        hint = dsl_values(dsl_prose(dsl_hint(p.hint))) if p.hint else p.hint
        message = dsl_values(dsl_prose(dsl_opening(p.message)))
        option = re.search(r"(?:^|\.)([A-Za-z_]\w*)$", p.path or "")  # the problem is about this option's value
        if option and option.group(1) in _names()["sizes"]:
            message = _GOT_SIZE.sub(lambda m: m.group(1) + _as_size(m.group(2)), message)
        same = hint == p.hint and message == p.message
        out.append(p if same else Problem(message, p.location, p.path, hint, p.excerpt))
    return out


# a list of two or more whole numbers as core.fmt.show writes it: a size, in the DSL `3x3`
_INTS = r"\[(\d+(?:, \d+)+)\]"
_GOT_SIZE = re.compile(rf"(\b(?:got|value) ){_INTS}")  # the value a problem got
_SIZE_INLINE = re.compile(rf"(?<![\w.:'\-])([A-Za-z_][A-Za-z0-9_]*)([= ]){_INTS}")  # `kernel [2, 3]`, `kernel=[3, 3]`


def _as_size(numbers: str) -> str:
    return "x".join(numbers.split(", "))


# `{a: 1, b: [2, 3]}` as core.fmt.show writes a mapping; `'it''s'`/`"x"` strings are skipped whole
_QUOTED = r"'(?:[^'\n]|'')*'|\"(?:[^\"\\\n]|\\.)*\""
_TOKEN = re.compile(rf"(?:{_QUOTED}|[A-Za-z_][A-Za-z0-9_]*): |{_QUOTED}|[{{}}]")
# `key: value` in prose: a value a spec could hold (number, list, mapping, $expression or a known word)
_INLINE = re.compile(r"(?<![\w.:'\-])([A-Za-z_][A-Za-z0-9_]*): "
                     r"(-?\d[\w.]*|\[[^\[\]]*\]|\{[^{}]*(?:\{[^{}]*\}[^{}]*)*\}|\$\{[^{}]*\}|\$\w+|[A-Za-z_]\w*)"
                     r"(?![\w:])")
# `'key: value'` quoted in prose: a piece of spec to write as it is, whatever its value (`'repeat_vector: n'`)
_QUOTED_ITEM = re.compile(r"'([A-Za-z_][A-Za-z0-9_]*): ([^'\n]+)'")
_QUOTED_KEY = re.compile(r"'([A-Za-z_][A-Za-z0-9_]*):'")  # an option named in quotes: `'trainable:'`


def dsl_values(text: str) -> str:
    """Values and options of ``text`` written the DSL way: a mapping's ``{key: value}`` as ``{key=value}``;
    ``option: value`` as ``option=value`` and ``kind: value`` as ``kind value`` where the name is a layer
    option or kind and the value one a spec could hold (``axis: -1``, ``shortcut: identity``,
    ``permute: [1, 0]``); ``field: layers`` (a group's list) as ``field { ... }``; a size option's list of
    whole numbers as the DSL's size (``kernel [2, 3]`` -> ``kernel 2x3``). Prose is left alone."""
    out, depth, at = [], 0, 0
    for m in _TOKEN.finditer(text):  # inside braces: `key: ` -> `key=`
        tok = m.group(0)
        if tok == "{":
            depth += 1
        elif tok == "}":
            depth = max(depth - 1, 0)
        elif depth and tok.endswith(": "):
            out.append(text[at:m.start()] + tok[:-2] + "=")
            at = m.end()
    text = "".join(out) + text[at:]
    names = _names()

    def inline(m: re.Match[str], quoted: bool = False) -> str:
        key, value = m.group(1), m.group(2)
        if key in names["groups"] and value == "layers":
            return f"{key} {{ ... }}"
        word = value[:1].isalpha() or value[:1] == "_"
        if word and value not in names["words"] and not quoted:
            return m.group(0)
        if key == "from":  # the DSL's clause: `from a, b`
            return f"from {value[1:-1] if value.startswith('[') else value}"
        if key == REPEAT or key in names["kinds"]:  # `repeat 3 conv ...`, `permute [1, 0]`
            return f"{key} {value}"
        return f"{key}={value}" if key in names["options"] or key == IF else m.group(0)

    def quoted(m: re.Match[str]) -> str:
        written = inline(m, True)
        return m.group(0) if written == m.group(0) else f"'{written}'"

    text = _QUOTED_ITEM.sub(quoted, text)
    text = _QUOTED_KEY.sub(lambda m: f"'{m.group(1)}=...'" if m.group(1) in names["options"] else m.group(0), text)
    text = _INLINE.sub(inline, text)
    return _SIZE_INLINE.sub(lambda m: m.group(0) if m.group(1) not in names["sizes"] else
                            m.group(1) + m.group(2) + _as_size(m.group(3)), text)


def _names() -> dict[str, frozenset[str]]:
    """The registry's kind names, option names, group list fields, size options (a list of whole numbers
    per axis in some kind: their type says so, :func:`~.grammar.axes_of`) and the words option values may be."""
    if not _NAMES:
        from netspec.frontends.dsl.grammar import WORDS, axes_of, literal_words
        from netspec.layers.activations import ACTIVATIONS
        from netspec.layers.base import all_kind_names, field_names, layer_kinds
        from netspec.layers.init import INIT_SCHEMES

        kinds = layer_kinds()
        _NAMES["kinds"] = frozenset(all_kind_names())
        _NAMES["options"] = frozenset(f for cls in kinds.values() for f in field_names(cls))
        _NAMES["sizes"] = frozenset(f for cls in kinds.values() for f in field_names(cls) if axes_of(cls, f))
        _NAMES["groups"] = frozenset(f for cls in kinds.values() for f in (getattr(cls, "CHILDREN", None) or {}))
        _NAMES["words"] = frozenset([*WORDS, *ACTIVATIONS, *INIT_SCHEMES,
                                     *(w for cls in kinds.values() for w in literal_words(cls))])
    return _NAMES


_NAMES: dict[str, frozenset[str]] = {}
