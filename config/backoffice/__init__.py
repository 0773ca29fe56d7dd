"""The back office's shared admin machinery: permission guards for every admin, the
admin login lock-out page, the client address behind trusted proxies.  It knows no
domain app; the apps' admins build on it."""
