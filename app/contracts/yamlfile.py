"""YAML with line numbers, so every rules error can say ``file:line: field: message``."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from app.contracts.errors import error_loc, error_message, first_errors

Loc = tuple[Any, ...]


class RulesError(ValueError):
    """A bad rules file: names the file, the line and the field."""

    def __init__(self, path: str, line: int | None, field: str, message: str):
        self.path, self.line, self.field, self.message = path, line, field, message
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {field}: {message}" if field else f"{where}: {message}")


def field_path(loc: Loc) -> str:
    """``("windows", 1, "limit")`` → ``windows[1].limit``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


MAX_BYTES = 1 << 20  # a rules file is a few KB


class YamlDoc:
    def __init__(self, path: Path, display: str):
        self.display = display
        with path.open("rb") as f:
            raw = f.read(MAX_BYTES + 1)
        if len(raw) > MAX_BYTES:
            raise RulesError(display, None, "", f"larger than {MAX_BYTES} bytes")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise RulesError(display, None, "", "not UTF-8 text") from None
        try:
            for event in yaml.parse(text, Loader=yaml.SafeLoader):
                # an alias can make a 1 KB file expand to gigabytes ("billion laughs"); none is needed here
                if isinstance(event, yaml.AliasEvent):
                    raise RulesError(display, event.start_mark.line + 1, "",
                                     f"YAML aliases (*{event.anchor}) are not allowed")
            node = yaml.compose(text, Loader=yaml.SafeLoader)
            self.data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            problem = getattr(exc, "problem", None) or str(exc)
            raise RulesError(display, mark.line + 1 if mark else None, "", f"invalid YAML: {problem}") from None
        self.lines: dict[Loc, int] = {}
        if node is not None:
            self._walk(node, ())
        if not isinstance(self.data, dict):
            raise RulesError(display, 1, "", "expected a mapping at the top level")

    def _walk(self, node: yaml.Node, loc: Loc) -> None:
        self.lines.setdefault(loc, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            seen: set[Any] = set()
            for key, value in node.value:
                k = key.value
                if key.tag == "tag:yaml.org,2002:bool":  # YAML 1.1 reads on/off/yes/no keys as true/false
                    raise RulesError(self.display, key.start_mark.line + 1, field_path(loc + (k,)),
                                     f"YAML reads the key {k!r} as a yes/no; quote it or use another name")
                if k in seen:
                    raise RulesError(self.display, key.start_mark.line + 1, field_path(loc + (k,)), "duplicate key")
                seen.add(k)
                self.lines[loc + (k,)] = key.start_mark.line + 1
                self._walk(value, loc + (k,))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self.lines[loc + (i,)] = item.start_mark.line + 1
                self._walk(item, loc + (i,))

    def line_of(self, loc: Loc) -> int | None:
        loc = tuple(loc)
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return self.lines.get((), None)

    def error(self, loc: Loc, message: str) -> RulesError:
        return RulesError(self.display, self.line_of(loc), field_path(loc), message)

    def validate(self, model):
        """Build ``model`` from the document; the first error names file:line: field."""
        try:
            return model.model_validate(self.data)
        except ValidationError as exc:
            err = first_errors(exc)[0]
            raise self.error(error_loc(err), error_message(err)) from None
