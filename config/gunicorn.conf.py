"""gunicorn settings for the back office and the partner API:
``gunicorn config.wsgi -c config/gunicorn.conf.py -b 127.0.0.1:8000 -w 4``.

gunicorn refuses a request line longer than ``limit_request_line`` itself, with an HTML page,
before Django sees it.  The API answers over-long URLs with a JSON 414 of its own
(``API_MAX_URL_LENGTH``, 4094 by default, in loans/api/middleware.py), so gunicorn's limit is
raised to its largest bounded value, 8190 bytes, to let those requests through to Django.
(0 would mean unlimited: gunicorn would then buffer request lines of any length.)  A request
line over 8190 bytes still gets gunicorn's HTML 414.
"""

limit_request_line = 8190
