"""newswatch application: configuration, CLI, Telegram side and wiring."""
