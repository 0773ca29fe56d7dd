"""Django's own date formats, in both languages, as the back office's lists write dates:
``2026-12-02`` and ``2026-12-02 20:50`` (``config.backoffice.formatting``), not "Dec. 2, 2026,
8:50 p.m." or "2026年12月2日".  What the readable columns do not format (the libraries' admins:
login records, API keys, schedules, authenticators) Django formats through these
(``FORMAT_MODULE_PATH``); moments are in the site's time zone, Asia/Shanghai."""
