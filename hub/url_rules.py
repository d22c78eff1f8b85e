"""URL rules that compile their URL builders when a URL is first built, not at start-up.

Werkzeug compiles two Python functions per rule when the rule is added (the builders
`url_for` uses: it writes their syntax tree and calls `compile` on it), so that building a
URL later is fast. Hub has ~30 rules, and a cold start that acknowledges a webhook or
answers Telegram `/help` builds no URL at all: those ~60 compilations were about a quarter
of the instructions hub's start costs above a bare Flask app's (docs/PERFORMANCE.md).
Matching a request does not use the builders, so each is compiled on its first use
instead; it is then the very function Werkzeug would have made, kept for every later call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from werkzeug.routing import Rule


class LazyBuilderRule(Rule):
    """A Werkzeug `Rule` whose URL builders are compiled by the first URL built from it.

    Set as the app's `url_rule_class` (Flask's own hook for the rule type); everything
    else about the rule (parsing, matching, converters, defaults) is Werkzeug's.
    """

    builders_compiled = 0  # how many of this rule's builders exist yet (for the tests)

    def _compile_builder(self, append_unknown: bool = True) -> Callable[..., tuple[str, str]]:
        compiled: list[Callable[..., tuple[str, str]]] = []
        make = super()._compile_builder

        def build(rule: Rule, **values: Any) -> tuple[str, str]:
            # Two threads building the same rule's first URL may both compile it: the same
            # function either way, and one of them is kept.
            if not compiled:
                compiled.append(make(append_unknown))
                self.builders_compiled += 1
            return compiled[0](rule, **values)

        return build  # Rule.compile binds it to the rule, as it binds Werkzeug's own
