"""What a rendered notification must be in the browser, read by a script in the page.

`inspect` returns the page's facts as the reader sees them (innerText, not the
markup); `problems` compares them with the text part and the expected buttons.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from mailgate.notify import CLIENT_COMMANDS
from tests.browser.cdp import Browser
from tests.browser.samples import TAG, Page, rating_subjects

WIDTHS = (375, 1024)
MAIN_TEXT_CONTRAST = 4.5  # WCAG AA, normal text
MUTED_TEXT_CONTRAST = 3.0  # the footer's small print, the button labels: AA large
_TAG = re.compile(r"\[REQ-\d+\]")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}(?: [A-Z]{2,5}| [+-]\d{2,4})?")
_STATUS = re.compile(r"(?:status|статус): ([^·\n]+?)(?: · |\n|$)")

# Runs in the page: sizes, links, what it says, and the contrast of its text.
SCRIPT = r"""
(() => {
  const rgba = s => {
    const v = s.match(/[\d.]+/g).map(Number);
    return v.length < 4 ? [...v, 1] : v;
  };
  const background = el => {
    for (; el; el = el.parentElement) {
      const c = rgba(getComputedStyle(el).backgroundColor);
      if (c[3] > 0) return c;
    }
    return rgba(getComputedStyle(document.documentElement).backgroundColor || "rgb(255,255,255)");
  };
  const lum = c => {
    const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
  };
  const contrast = el => {
    const a = lum(rgba(getComputedStyle(el).color)), b = lum(background(el));
    return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  };
  const texts = (selector, kind) => [...document.querySelectorAll(selector)]
    .filter(el => el.innerText.trim())
    .map(el => ({kind, text: el.innerText.trim().slice(0, 40), ratio: contrast(el)}));
  const card = document.querySelector(".mg-card");
  return {
    scrollWidth: Math.max(document.documentElement.scrollWidth, document.body.scrollWidth),
    text: document.body.innerText,
    status: (document.querySelector(".mg-status") || {innerText: ""}).innerText.trim(),
    cardLuminance: card ? lum(background(card)) : null,
    links: [...document.querySelectorAll("a[href]")].map(a => {
      const box = a.getBoundingClientRect();
      return {href: a.getAttribute("href"), text: a.innerText.trim(), left: box.left,
              right: box.right, height: box.height, button: a.classList.contains("mg-button"),
              answer: !!a.closest(".mg-answer")};
    }),
    contrast: [
      ...texts(".mg-body p, .mg-body li, .mg-pre, .mg-answer td, .mg-answer th, .mg-facts", "main"),
      ...texts(".mg-foot p, .mg-brand, .mg-actions-label, .mg-button, .mg-status", "muted"),
    ],
  };
})()
"""


def inspect(browser: Browser, page: Page, *, width: int, dark: bool) -> dict[str, Any]:
    browser.show(page.html, width=width, dark=dark)
    return browser.evaluate(SCRIPT)


def problems(page: Page, seen: dict[str, Any], *, width: int, dark: bool) -> list[str]:
    """Everything wrong with one page at one width and colour scheme; [] when none."""
    found = []
    if seen["scrollWidth"] > width:
        found.append(f"scrolls sideways: {seen['scrollWidth']} px wide in a {width} px window")
    found += _link_problems(page, seen["links"], width)
    found += _fact_problems(page, seen)
    for item in seen["contrast"]:
        least = MAIN_TEXT_CONTRAST if item["kind"] == "main" else MUTED_TEXT_CONTRAST
        if item["ratio"] < least:
            found.append(f"{item['kind']} text {item['text']!r}: contrast {item['ratio']:.2f}")
    if dark and seen["cardLuminance"] is not None and seen["cardLuminance"] > 0.2:
        found.append(f"dark mode not applied: the card's luminance is {seen['cardLuminance']:.2f}")
    return found


def _link_problems(page: Page, links: list[dict[str, Any]], width: int) -> list[str]:
    found = []
    words = {f"{TAG} {command}" for command in CLIENT_COMMANDS[page.language].values()}
    words |= set(rating_subjects(page.language))
    offered: dict[str, str] = {}
    for link in links:
        if link["answer"]:
            continue  # the agent's own links, in an answer relayed as HTML
        parts = urlsplit(link["href"])
        subject = parse_qs(parts.query).get("subject", [""])[0]
        if parts.scheme != "mailto" or subject not in words:
            found.append(f"link {link['text']!r} is not a command mailto: {link['href']}")
            continue
        if link["button"]:
            offered[subject] = parts.path
            if link["left"] < 0 or link["right"] > width:
                found.append(f"button {link['text']!r} is cut off at {width} px")
            if link["height"] < 32:
                found.append(f"button {link['text']!r} is {link['height']:.0f} px high, too small")
    for subject, address in page.commands.items():
        if offered.get(subject) != address:
            found.append(f"no button mailto:{address} with the subject {subject!r}")
    for subject in set(offered) - set(page.commands):
        found.append(f"a button {subject!r} where no command is offered")
    return found


def _fact_problems(page: Page, seen: dict[str, Any]) -> list[str]:
    """The text part and the HTML name the same request, status and dates."""
    found = []
    html_text = seen["text"]
    for name, pattern in (("tags", _TAG), ("dates", _DATE)):
        in_text, in_html = set(pattern.findall(page.text)), set(pattern.findall(html_text))
        if in_text != in_html:
            found.append(f"{name}: text part {sorted(in_text)}, HTML {sorted(in_html)}")
    if page.name != "check_test":
        if TAG not in html_text:
            found.append(f"the HTML does not show {TAG}")
        footer = page.text.rpartition("\n-- \n")[2]
        statuses = set(_STATUS.findall(footer))
        if statuses != {seen["status"]}:
            found.append(f"status: text part {sorted(statuses)}, HTML badge {seen['status']!r}")
        for subject, address in page.commands.items():
            # A text-only reader gets the same commands: in words in the footer, or (the
            # rating buttons) as their mailto: links in the text.
            words = subject.removeprefix(f"{TAG} ").rstrip(": ")
            if words not in footer and f"mailto:{address}?" not in page.text:
                found.append(f"the text part's footer does not offer {words!r}")
    return found
