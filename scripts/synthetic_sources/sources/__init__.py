"""One module per upstream system; each turns one simulated day of a World into rows.

* ``crm``      contacts (change records) and consent events;
* ``shop``     orders (change records), order lines and the product catalogue;
* ``web``      clickstream sessions, including the checkout session of every order;
* ``email``    campaigns and their events (send, delivery, open, click, bounce, ...);
* ``privacy``  erasure requests.

A ``*_day(world, day)`` function returns ``Rows``: a table with exactly the landing
contract's columns and, per row, the instant it happened (which drives its landing date).
"""
