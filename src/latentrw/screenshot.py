"""Open a report in headless Chromium: a screenshot at a given width, and whether the page fits it.

Needs selenium (``pip install -e '.[test]'``) and Chromium with its driver
(``apt-get install chromium chromium-driver``); without them :func:`browser` raises
:class:`~latentrw.errors.ConfigError` saying which is missing.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from latentrw.errors import ConfigError


def browser():
    """A headless Chromium driven by selenium."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError as exc:
        raise ConfigError("selenium is not installed: pip install -e '.[test]'") from exc
    chrome, driver = shutil.which("chromium") or shutil.which("chromium-browser"), shutil.which("chromedriver")
    if not (chrome and driver):
        raise ConfigError("Chromium is absent: apt-get install chromium chromium-driver")
    opts = webdriver.ChromeOptions()
    opts.binary_location = chrome
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars"):
        opts.add_argument(arg)
    return webdriver.Chrome(service=Service(driver), options=opts)


def screenshot(page: Path | str, png: Path | str, width: int = 1280, height: int = 1000, driver=None) -> dict:
    """Save the first ``height`` pixels of ``page`` at ``width`` (CSS pixels) as ``png``; returns
    the page's ``scroll_width`` (wider than ``width``: it does not fit) and its images' natural
    widths (0: an image that did not decode)."""
    own = driver is None
    driver = driver or browser()
    try:
        driver.set_window_size(width, height)
        driver.get(Path(page).resolve().as_uri())
        # the viewport, not the window: the window's frame takes a few pixels
        inner = driver.execute_script("return window.innerWidth")
        driver.set_window_size(width + (width - inner), height)
        info = driver.execute_script("return {scroll_width: document.documentElement.scrollWidth, "
                                     "inner_width: window.innerWidth, "
                                     "images: Array.from(document.images).map(i => i.naturalWidth)}")
        Path(png).parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(png))
    finally:
        if own:
            driver.quit()
    return info
