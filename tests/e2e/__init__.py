"""Real-browser tests: the app on a live server, driven by headless Chromium (Playwright)."""
