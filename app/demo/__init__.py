"""The demo of ``make run``: a mailbox (SMTP + IMAP), a web site (HTTPS) and an
SMS gateway (Kannel ``sendsms`` with delivery reports) on loopback, each watched
by a target of an example contract, and ``slawatch demo break|restore`` to make
one fail and recover. Nothing here is used outside the demo."""
