"""Portfolio analytics and model monitoring: the book's health and the scorecards' stability
and power, computed each night after servicing (phase 5 of the nightly run).

* ``stats``      pure calculation: PSI, AUC / KS / Gini, month arithmetic (no database);
* ``alerts``     the one place that reads (and raises) alerts, whatever the model is called;
* ``portfolio``  the set-based portfolio snapshot of a date;
* ``models``     PSI of each model's scores and characteristics, back-tests and calibration;
* ``report``     a snapshot as a plain dict (``portfolio_report``, the admin's CSV, charts).
"""
