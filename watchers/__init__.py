"""Feed watchers: fetch, parse and identify news items. The only package that polls feeds."""
