"""The views tier: what each command shows, from stored mentions; no SQL, no printing.

`listing` is `list`, `detail` `show`, `thread` `show --thread`, `triage` what done/dismiss/
snooze/reopen say, `stats` `stats` and `check`, `records` the JSON rows, `export` csv/json/
jsonl, `report` the Markdown and HTML reports. The CLI prints what these return.
"""
