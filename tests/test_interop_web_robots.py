"""robots.txt (Content-Usage, Content-Signal), robots-style patterns, ai.txt."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _web_helpers import codes, decide, run, simple
from aiterms.interop import _web, aitxt, robots

ATTACH_EXAMPLE = """User-Agent: *
Allow: /
Disallow: /never/
Content-Usage: train-ai=n
Content-Usage: /ai-ok/ train-ai=y

User-Agent: ExampleBot
Allow: /
Content-Usage: train-ai=y
"""


@pytest.mark.parametrize(("pattern", "target", "hit"), [
    ("/", "/a", True),
    ("", "/a", True),
    ("/fish", "/fish.html", True),
    ("/fish", "/Fish", False),
    ("/fish*.php", "/fish/salmon.php", True),
    ("/*.php$", "/index.php", True),
    ("/*.php$", "/index.php?x", False),
    ("*.jpg", "/img/a.jpg", True),
    ("*.jpg", "/img/a.jpeg", False),
    ("/a%7Eb", "/a~b", True),  # unreserved %xx decoded on both sides
    ("/a b", "/a%20b", True),
    ("/%e2%82%ac", "/€", True),
    ("/p", "/q?p", False),
])
def test_patterns(pattern: str, target: str, hit: bool) -> None:
    assert _web.pattern_matches(pattern, target) is hit


def test_pattern_length_is_octets() -> None:
    assert _web.pattern_length("/€") == len("/%E2%82%AC")
    assert _web.pattern_length("") == 0


@pytest.mark.parametrize(("url", "ua", "expected", "code"), [
    ("https://example.com/test", None, {("prohibit", "genai-training")}, None),
    ("https://example.com/never/test", None, set(), "robots-path-disallowed"),
    ("https://example.com/ai-ok/test", None, {("permit", "genai-training")}, None),
    ("https://example.com/never/test", "ExampleBot", {("permit", "genai-training")}, None),
    ("https://example.com/test", "Mozilla/5.0 (compatible; ExampleBot/1.0)", {("permit", "genai-training")}, None),
    ("https://example.com/test", "examplebot", {("permit", "genai-training")}, None),
])
def test_attach_draft_example(url: str, ua: str | None, expected: set[tuple[str, str]], code: str | None) -> None:
    """draft-ietf-aipref-attach-05 section 4.4, table "Sample of usage preferences for different paths"."""
    result = run("robots", ATTACH_EXAMPLE, url=url, user_agent=ua)
    assert simple(result) == expected
    if code:
        assert code in codes(result)


def test_location_and_raw() -> None:
    result = run("robots", ATTACH_EXAMPLE, url="https://example.com/ai-ok/x")
    (d,) = result.record["declarations"]
    assert d["source"]["location"] == "robots.txt line 5"
    assert d["source"]["raw"] == "/ai-ok/ train-ai=y"
    assert d["declaredBy"]["id"] == "https://example.com"
    assert result.record["contentUrl"] == "https://example.com/ai-ok/x"


def test_identical_paths_combine_most_restrictively() -> None:
    text = "User-Agent: *\nContent-Usage: /img/ train-ai=y\nContent-Usage: /img/ train-ai=n\n"
    result = run("robots", text, url="https://example.com/img/a.jpg")
    assert simple(result) == {("prohibit", "genai-training")}  # one party: the permission is dropped
    assert "import-contradiction" in codes(result)
    assert decide(result.record, "genai-training") == "notAllowed"
    again = run("robots", text.replace("/img/ ", ""), url=None, name="robots.txt")
    assert "import-url-required" in codes(again)


def test_order_of_rules_is_irrelevant() -> None:
    a = "User-Agent: *\nContent-Usage: /img/ train-ai=y\nContent-Usage: train-ai=n\n"
    b = "User-Agent: *\nContent-Usage: train-ai=n\nContent-Usage: /img/ train-ai=y\n"
    for text in (a, b):
        assert simple(run("robots", text, url="https://example.com/img/a.jpg")) == {("permit", "genai-training")}
        assert simple(run("robots", text, url="https://example.com/x.jpg")) == {("prohibit", "genai-training")}


def test_broken_longest_rule_does_not_fall_back_to_a_permission() -> None:
    text = "User-Agent: *\nContent-Usage: train-ai=y\nContent-Usage: /img/ train-ai=n search\n"
    result = run("robots", text, url="https://example.com/img/a.jpg")
    assert simple(result) == set()
    assert "aipref-parse-error" in codes(result)
    assert decide(result.record, "genai-training") == "unspecified"


def test_groups_merge_and_star_fallback() -> None:
    text = ("User-agent: a\nUser-agent: b\nContent-Usage: train-ai=n\n\nUser-agent: *\nContent-Usage: train-ai=y\n"
            "User-agent: b\nContent-Usage: search=n\n")
    assert simple(run("robots", text, user_agent="b")) == {("prohibit", "genai-training"),
                                                           ("prohibit", "search-indexing")}
    assert simple(run("robots", text, user_agent="a")) == {("prohibit", "genai-training")}
    assert simple(run("robots", text, user_agent="c")) == {("permit", "genai-training")}
    assert simple(run("robots", text)) == {("permit", "genai-training")}


def test_comments_case_and_whitespace() -> None:
    text = "user-AGENT : *   # all\n  content-usage :  train-ai=n # no training\n"
    assert simple(run("robots", text)) == {("prohibit", "genai-training")}


def test_rule_outside_group_and_nonstandard_rules() -> None:
    text = "Content-Usage: train-ai=y\nUser-agent: *\nDisallowAITraining: /\nContent-Usage: ai=n\n"
    result = run("robots", text)
    assert {"robots-rule-outside-group", "robots-nonstandard-rule", "aipref-old-label"} <= codes(result)
    assert simple(result) == {("prohibit", "ai-training")}


def test_url_is_required() -> None:
    result = run("robots", ATTACH_EXAMPLE, url=None)
    assert not result.record
    assert "import-url-required" in codes(result)


@pytest.mark.parametrize("url", ["example.com/a.jpg", "ftp://example.com/a", "https://", "http://[::1"])
def test_invalid_url(url: str) -> None:
    assert "import-invalid-url" in codes(run("robots", ATTACH_EXAMPLE, url=url))


def test_origin_normalisation() -> None:
    assert _web.check_url("HTTPS://Example.COM:443/a")[0] == "https://example.com"
    assert _web.check_url("http://example.com:8080/a")[0] == "http://example.com:8080"


def test_content_signal_in_robots() -> None:
    text = ("User-Agent: *\nContent-signal: search=yes, ai-train=no\nAllow: /\n\n"
            "User-agent: GPTBot\nDisallow: /\n")
    result = run("robots", text)
    assert simple(result) == {("permit", "search-indexing"), ("prohibit", "ai-training")}
    (d,) = result.record["declarations"]
    assert d["source"]["signal"] == "content-signal"
    gpt = run("robots", text, user_agent="GPTBot")
    assert not gpt.record


def test_content_usage_and_content_signal_together() -> None:
    text = "User-Agent: *\nContent-Usage: train-ai=n\nContent-Signal: ai-train=yes, search=yes\n"
    result = run("robots", text)
    rec = result.record
    assert decide(rec, "genai-training") == "notAllowed"
    assert decide(rec, "non-genai-training") == "allowed"
    assert decide(rec, "ai-training") == "constrained"


def test_robots_size_limit_keeps_only_prohibitions() -> None:
    filler = "# " + "x" * 1000 + "\n"
    text = "User-Agent: *\nContent-Usage: train-ai=y\nContent-Usage: /a/ search=n\n" + filler * 600
    result = run("robots", text, url="https://example.com/a/b")
    assert "limit-robots-size" in codes(result)
    assert simple(result) == {("prohibit", "search-indexing")}
    result = run("robots", text, url="https://example.com/b")
    assert simple(result) == set()


# -----------------------------------------------------------------------------------------------------------------
# ai.txt

SPAWNING = """# Spawning AI
# Prevent datasets from using the following file types

User-Agent: *
Disallow: *.txt
Disallow: *.jpg
Disallow: *.png
Allow: /public/*.png
"""


@pytest.mark.parametrize(("url", "expected"), [
    ("https://example.com/a.jpg", {("prohibit", "ai-training")}),
    ("https://example.com/x/a.png", {("prohibit", "ai-training")}),
    ("https://example.com/public/a.png", {("permit", "ai-training")}),
    ("https://example.com/a.gif", set()),
])
def test_aitxt(url: str, expected: set[tuple[str, str]]) -> None:
    result = run("ai.txt", SPAWNING, url=url)
    assert simple(result) == expected
    if expected:
        assert result.record["declarations"][0]["source"]["signal"] == "ai.txt"


def test_aitxt_tie_goes_to_disallow() -> None:
    result = run("ai.txt", "User-Agent: *\nAllow: *.jpg\nDisallow: *.jpg\n", url="https://e.com/a.jpg")
    assert simple(result) == {("prohibit", "ai-training")}


def test_aitxt_without_url() -> None:
    assert "import-url-required" in codes(run("ai.txt", SPAWNING, url=None))
    everything = run("ai.txt", "User-Agent: *\nDisallow: *.jpg\nDisallow: /\n", url=None)
    assert simple(everything) == {("prohibit", "ai-training")}


def test_aitxt_detection_by_name_only() -> None:
    assert aitxt.detect("site/ai.txt", b"User-Agent: *\n")
    assert not aitxt.detect("robots.txt", b"User-Agent: *\n")
    assert robots.detect("robots.txt", b"")
    assert robots.detect("whatever", b"# x\nUser-agent: *\nDisallow: /\n")
    assert not robots.detect("x.jpg", b"\xff\xd8\xff\x00User-agent: *")


@settings(max_examples=300, deadline=None)
@given(pattern=st.text(alphabet="ab*$/", max_size=8), target=st.text(alphabet="ab$/", max_size=10))
def test_wildcard_matcher_agrees_with_a_regex(pattern: str, target: str) -> None:
    """The linear-time matcher gives the same answers as the obvious (backtracking) regular expression."""
    import re

    anchored = pattern.endswith("$")
    body = pattern[:-1] if anchored else pattern
    regex = ".*".join(re.escape(p) for p in body.split("*")) + (r"\Z" if anchored else "")
    assert _web.wildcard_match(pattern.encode(), target.encode()) == (re.match(regex, target, re.S) is not None)
