//! Headless Chromium for web-view tests (to come).
